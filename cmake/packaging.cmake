# The Debian package (`cpack -G DEB` in the build tree): what `cmake --install` installs
# (cli/CMakeLists.txt: the binary and its completions) under /usr, with the runtime
# libraries it links declared as Depends by dpkg-shlibdeps (Debian: dpkg-dev, installed by
# scripts/setup.sh). README.md says how to install it; tests/package_test.sh builds it,
# unpacks it in a temporary root and runs it from there.
# `cpack` installs what is built already and builds nothing itself: without this it would
# build every test and benchmark first (the install target depends on `all`).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME backout)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "backout maintainers <backout@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "runs database rollback plans as resumable, journaled state machines")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "A rollback runbook becomes a YAML plan; backout runs it as an event-sourced state\n\
machine whose every action is journaled (RocksDB, hash-chained) before and after it takes\n\
effect, so an interrupted rollback resumes exactly where it stopped.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Debug info stays in the build tree (the package is a tenth of the size, and quick to make).
set(CPACK_STRIP_FILES ON)
# pg_dump and pg_restore: only plans with postgres backups and restores need them.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-client")
include(CPack)
