# shellcheck shell=bash
# tests/lib/version.sh: the project's version, from its one home, the
# AC_INIT line of configure.ac (visits-fcgi --version, the images' tag,
# the chart's appVersion).  Needs $top, the source tree.

visits_version() {
	sed -n 's/^AC_INIT(\[visits\], *\[\([^]]*\)\].*/\1/p' "$top/configure.ac"
}
