/* version.c — the program version and the git commit it was built from (filled in
 * by CMake at configure time; see cmake/version.h.in). */
#include "mtn/core.h"
#include "mtn_build_info.h"

const char *mtn_version(void) { return MTN_VERSION_STRING; }
const char *mtn_git_commit(void) { return MTN_GIT_COMMIT; }
