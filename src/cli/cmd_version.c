/* cmd_version.c — `mtneuro --version`: our version and commit, and the versions of
 * the libraries this binary runs with (asked of the libraries, not of headers). */
#include <blosc.h>
#include <cblas.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <hdf5.h>
#include <lapacke.h>
#include <microhttpd.h>
#include <mpi.h>
#include <string.h>

#include "cli.h"
#include "mtn/core.h"

void mtn_print_version(void) {
    printf("mtneuro %s (commit %s)\n", mtn_version(), mtn_git_commit());

    char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0, major = 0, minor = 0;
    MPI_Get_library_version(mpi, &len); /* callable before MPI_Init */
    MPI_Get_version(&major, &minor);
    char *nl = strchr(mpi, '\n');
    if (nl) *nl = '\0';
    char *comma = strchr(mpi, ',');
    if (comma) *comma = '\0';
    printf("  MPI:           %s (MPI standard %d.%d)\n", mpi, major, minor);

    unsigned hmaj = 0, hmin = 0, hrel = 0;
    H5get_libversion(&hmaj, &hmin, &hrel);
#ifdef H5_HAVE_PARALLEL
    const char *par = "parallel";
#else
    const char *par = "serial";
#endif
    printf("  HDF5:          %u.%u.%u (%s)\n", hmaj, hmin, hrel, par);

    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    printf("  libcurl:       %s (%s)\n", cv->version, cv->ssl_version ? cv->ssl_version : "no TLS");

    printf("  OpenBLAS:      %s; core %s\n", openblas_get_config(), openblas_get_corename());

    lapack_int lmaj = 0, lmin = 0, lpatch = 0;
    LAPACKE_ilaver(&lmaj, &lmin, &lpatch);
    printf("  LAPACK:        %d.%d.%d (LAPACKE)\n", (int)lmaj, (int)lmin, (int)lpatch);

    printf("  blosc:         %s\n", blosc_get_version_string());
    printf("  cJSON:         %s\n", cJSON_Version());
    printf("  libmicrohttpd: %s\n", MHD_get_version());
}

int mtn_cmd_version(int argc, char **argv) {
    (void)argv;
    if (argc > 1) {
        mtn_error_set(MTN_EUSAGE, "version: expected no arguments");
        return mtn_cli_fail(MTN_EUSAGE, true);
    }
    if (mtn_log_rank() == 0) mtn_print_version();
    return 0;
}
