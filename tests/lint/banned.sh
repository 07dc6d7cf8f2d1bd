#!/usr/bin/env bash
# STYLE.md bans sprintf, strcpy, strcat, gets, strtok and atoi (and their
# unchecked cousins) in the project's C code. Fails naming each use.
set -u
cd "${1:?source dir}"
pat='(^|[^_a-zA-Z0-9])(sprintf|vsprintf|strcpy|strcat|gets|strtok|atoi|atol|atoll)[[:space:]]*\('
hits=$(git ls-files -- '*.c' '*.h' 2>/dev/null | xargs -r grep -nE "$pat" | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)')
if [ -z "$(git ls-files -- '*.c' 2>/dev/null | head -n 1)" ]; then
	hits=$(find lib agent server cli fuzz tests bench -name '*.[ch]' | xargs -r grep -nE "$pat" | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)')
	n=$(find lib agent server cli fuzz tests bench -name '*.[ch]' | wc -l)
else
	n=$(git ls-files -- '*.c' '*.h' | wc -l)
fi
if [ -n "$hits" ]; then
	echo "banned functions used (see STYLE.md):"
	echo "$hits"
	exit 1
fi
echo "banned functions: none in $n files"
