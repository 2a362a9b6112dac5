#!/bin/bash
# The README and doc/ as a newcomer reads them: the quick start comes
# first, then the request path; every path, link and `./dev` command they
# name exists, and they tell what is, not its history (no commit hashes,
# no issue numbers).  And every Markdown file, section and anchor that
# the docs, the comments and the configuration files name exists, so
# that a pointer into the docs never leads nowhere.  Reads the files
# only; the ./dev commands are checked against `./dev help`, which runs
# nothing.
#
# A section is named as its file, then its title in double quotes:
# `doc/DESIGN.md, "The answer path"`, `the README's "Endpoints"`; or by
# its anchor: `doc/RELIABILITY.md#power-loss`.
# shellcheck source=../lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || bail_out "no source tree at $top"
docs=(README.md doc/*.md)
[ -f README.md ] || bail_out "no README.md in $top"

# The quick start, with its two commands, within the first 30 lines.
quick=$(head -n 30 README.md | sed -n '/^## Quick start/,$p')
[ -n "$quick" ] && grep -q '^ *\./dev run' <<<"$quick" &&
    grep -q '^ *\./dev test' <<<"$quick"
ok $? "README: the quick start and its two commands in the first 30 lines"

# The request path, the first thing "How it is built" shows, early.
line=$(grep -n '^ *client$' README.md | head -n 1 | cut -d: -f1)
[ -n "$line" ] && [ "$line" -le 200 ]
ok $? "README: the request path picture in the first 200 lines (${line:-none})"

commands=$(./dev help | sed -n 's/^ *\.\/dev \([a-z][a-z0-9-]*\).*/\1/p')
[ -n "$commands" ] || bail_out "./dev help lists no command"

for f in "${docs[@]}"; do
	dir=$(dirname "$f")

	# ./dev commands
	bad=
	for c in $(grep -o '\./dev [a-z][a-z0-9-]*' "$f" | sort -u |
	    cut -d' ' -f2); do
		grep -qx "$c" <<<"$commands" || bad="$bad $c"
	done
	is "$bad" "" "$f: every ./dev command it names is in ./dev help"

	# Markdown links to files, relative to the file.
	bad=
	while read -r link; do
		[ -e "$dir/$link" ] || bad="$bad $link"
	done < <(grep -o '](\([^)#:]*\)[)#]' "$f" | sed 's/^](//; s/[)#]$//' |
	    sort -u)
	is "$bad" "" "$f: every link to a file leads to one"

	# Paths of the repository in backquotes: those that start with one
	# of its top-level directories, without wildcards or variables.
	bad=
	while read -r p; do
		[ -e "$p" ] || bad="$bad $p"
	done < <(grep -o '`[^` ]*`' "$f" | tr -d '`' |
	    grep -E '^(\./)?(fcgi|nginx|k8s|tests|bench|doc|\.ci)/' |
	    grep -v '[*$<>{}]' | sort -u)
	is "$bad" "" "$f: every repository path it names exists"

	# History: commit hashes (hex with a letter and a digit, 7 to 40
	# long) and issue or session numbers.  Not the names a cluster makes
	# up in the outputs shown (volumes' UUIDs, revision hashes, image ids).
	hist=$(sed -E 's/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}//g
	    s/visits-[0-9a-f]{8,10}\b//g; s/\b[0-9a-f]{64}\b//g' "$f" |
	    grep -noE '\b[0-9a-f]{7,40}\b' | grep '[a-f]' |
	    grep -E ':[^:]*[0-9][^:]*$')
	hist="$hist $(grep -noiE '\b(issue|session) #?[0-9]+' "$f")"
	hist=${hist# }
	hist=${hist% }
	is "$hist" "" "$f: no commit hashes, no issue or session numbers"
done

# headings FILE: the titles of the Markdown FILE's sections, as written
# but without backquotes (none from fenced code).
headings() {
	awk '/^```/ { fence = !fence; next }
	    !fence && /^#+ / { sub(/^#+ +/, ""); gsub(/`/, ""); print }' "$1"
}

# anchors FILE: GitHub's anchors of those sections.
anchors() {
	headings "$1" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9 _-]//g; s/ /-/g'
}

# resolve NAME FROM: target := the Markdown file that NAME means when
# FROM names it (README is the top one); beside FROM, else from the top.
resolve() {
	local d name=$1
	[ "$name" = README ] && name=README.md
	for d in "$(dirname "$2")" . doc; do
		if [ -f "$d/$name" ]; then
			target=$d/$name
			return 0
		fi
	done
	target=
	return 1
}

# flat FILE: its text as one line, comment leaders and URLs gone, so
# that a reference wrapped over two comment lines reads as one.
flat() {
	sed -E -e 's,^[[:space:]]*(#+|//|/?\*+|dnl)[[:space:]]?,,' \
	    -e 's,[a-z]+://[^ )>]*,,g' "$1" | tr '\n\t' '  ' | tr -s ' '
}

# refs PATTERN: what the extended regular expression PATTERN finds in
# $text, each once.
refs() {
	grep -oE "$1" <<<"$text" | sort -u
}

# Every text file of the source tree but the generated and the test data.
files=$(find . \( -name .git -o -name 'build*' -o -name var -o \
    -name autom4te.cache -o -name m4 -o \
    -name __pycache__ -o -name _build -o -name _inst -o \
    -path ./tests/fuzz/corpus -o -path ./tests/cases \) -prune -o \
    -type f ! -name configure ! -name aclocal.m4 ! -name Makefile.in \
    ! -name 'config.h*' ! -name '*.tar.gz' -print | sort)
md='(README|[A-Za-z0-9_./-]+\.md)'
bad_file= bad_section= bad_anchor= unquoted=
for f in $files; do
	grep -Iq . "$f" || continue
	text=$(flat "$f")
	f=${f#./}
	while read -r name; do
		resolve "$name" "$f" || bad_file="$bad_file $f:$name"
	done < <(refs '[$A-Za-z0-9_./-]*[A-Za-z0-9_]\.md\b' | grep -v '\$')
	while IFS='#' read -r name anchor; do
		resolve "$name" "$f" || continue
		anchors "$target" | grep -qxF -- "$anchor" ||
		    bad_anchor="$bad_anchor $f:$name#$anchor"
	done < <(refs '[A-Za-z0-9_./-]*\.md#[A-Za-z0-9_-]+')
	while IFS='"' read -r name title; do
		name=${name%%[ ,\']*}
		resolve "$name" "$f" || continue
		headings "$target" | grep -qxF -- "$title" ||
		    bad_section="$bad_section $f:$name,\"$title\""
	done < <(refs "$md('s)?,? \"[^\"]+")
	while read -r ref; do
		unquoted="$unquoted $f:'$ref'"
	done < <(refs "$md('s|,) [A-Z][a-z]+")
done
is "$bad_file" "" "every Markdown file that the docs, comments and configuration name exists"
is "$bad_section" "" "every section named as FILE, \"Title\" exists in FILE"
is "$bad_anchor" "" "every FILE#anchor names a section of FILE"
is "$unquoted" "" "sections are named in quotes (FILE, \"Title\"), so that this test reads them"

done_testing
