#!/usr/bin/env bash
# The Debian package end to end (README.md, "Installing"): cpack builds it from the build
# tree, it declares the runtime libraries as Depends, and, unpacked in a temporary root, its
# backout runs, validates a shipped example and has its completions listing every
# subcommand that `backout --help` lists. Usage: package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "package_test: $*" >&2; exit 1; }

cpack --config "$build_dir/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack failed"; }
deb=$(find "$work/out" -maxdepth 1 -name 'backout_*.deb' -print -quit)
[[ -n $deb ]] || fail "no backout_*.deb in $work/out"

version=$(dpkg-deb -f "$deb" Version)
project_version=$(sed -n 's/^project(backout VERSION \([0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")
[[ $version == "$project_version" ]] || fail "package version $version, project $project_version"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libstdc++6 libsqlite3-0 libpq5 libcurl4 libssl3 libyaml-cpp; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done

root=$work/root
dpkg-deb -x "$deb" "$root"
backout=$root/usr/bin/backout
[[ -x $backout ]] || fail "no usr/bin/backout in the package"
[[ $("$backout" --version) == "backout $project_version" ]] ||
  fail "--version says '$("$backout" --version)'"

# A shipped example, copied so that validate sees it as a user would (its relative paths).
cp -r "$source_dir/examples/media-rollback" "$work/example"
(cd "$work/example" && BACKOUT_JOURNAL="$work/journal" "$backout" validate plan.yaml) ||
  fail "validate of examples/media-rollback/plan.yaml failed"

bash_completion=$root/usr/share/bash-completion/completions/backout
zsh_completion=$root/usr/share/zsh/vendor-completions/_backout
[[ -f $bash_completion && -f $zsh_completion ]] || fail "completions missing"
# The subcommands --help lists: the indented lines under "Subcommands:".
subcommands=$("$backout" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && /^  [a-z]/ {print $1}')
[[ -n $subcommands ]] || fail "no subcommands found in --help"
for sub in $subcommands; do
  grep -q "^    $sub) " "$bash_completion" || fail "bash completion lacks '$sub'"
  grep -q "^    $sub) " "$zsh_completion" || fail "zsh completion lacks '$sub'"
done
# And the flags of one subcommand, through bash's own completion machinery.
offered=$(bash -c 'source "$1"; COMP_WORDS=(backout report --); COMP_CWORD=2; _backout
                   echo "${COMPREPLY[*]}"' _ "$bash_completion")
for flag in --format --output --journal; do
  [[ " $offered " == *" $flag "* ]] || fail "bash completion of 'report --' lacks $flag: $offered"
done
echo "package_test: ok ($(basename "$deb"); Depends: $depends)"
