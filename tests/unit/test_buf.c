/* Bounded buffers: escaping, numbers, overflow. */
#include "config.h"

#include "buf.h"
#include "tap.h"

int
main(void)
{
	char		storage[64], tiny[8];
	struct buf	b;

	buf_init(&b, storage, sizeof(storage));
	buf_put_json_string(&b, "a\"b\\c\nd\x01" "e\x7f");
	is_str(buf_cstr(&b), "\"a\\\"b\\\\c\\nd\\u0001e\\u007f\"",
	    "JSON escaping of quotes, backslashes and control bytes");
	ok(!b.overflow, "no overflow");

	buf_init(&b, storage, sizeof(storage));
	buf_put_json_string(&b, "Москва");
	is_str(buf_cstr(&b), "\"Москва\"", "UTF-8 passes through");

	buf_init(&b, storage, sizeof(storage));
	buf_put_html(&b, "<a href=\"x\">&'</a>");
	is_str(buf_cstr(&b),
	    "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;",
	    "HTML escaping");

	buf_init(&b, storage, sizeof(storage));
	buf_put_u64(&b, 0);
	buf_puts(&b, " ");
	buf_put_u64(&b, UINT64_MAX);
	is_str(buf_cstr(&b), "0 18446744073709551615", "u64 edges");

	buf_init(&b, tiny, sizeof(tiny));
	buf_puts(&b, "1234567");
	ok(!b.overflow, "7 bytes fit in 8 (NUL kept)");
	buf_puts(&b, "8");
	ok(b.overflow, "the 8th byte overflows");
	is_str(buf_cstr(&b), "1234567", "content kept, not truncated "
	    "midway");
	buf_puts(&b, "");
	ok(b.overflow, "overflow is sticky");

	buf_init(&b, tiny, sizeof(tiny));
	buf_printf(&b, "%s", "123456789");
	ok(b.overflow, "printf overflow detected");
	is_str(buf_cstr(&b), "", "and nothing half-written");
	return tap_done();
}
