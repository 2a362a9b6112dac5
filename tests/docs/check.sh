#!/bin/bash
# The README and doc/ as a newcomer reads them: the quick start comes
# first, every path, link and `./dev` command they name exists, and they
# tell what is, not its history (no commit hashes, no issue numbers).
# Reads the files only; the ./dev commands are checked against `./dev
# help`, which runs nothing.
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
	# long) and issue or session numbers.
	hist=$(grep -noE '\b[0-9a-f]{7,40}\b' "$f" | grep '[a-f]' |
	    grep -E ':[^:]*[0-9][^:]*$')
	hist="$hist $(grep -noiE '\b(issue|session) #?[0-9]+' "$f")"
	hist=${hist# }
	hist=${hist% }
	is "$hist" "" "$f: no commit hashes, no issue or session numbers"
done

done_testing
