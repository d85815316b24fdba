/* UTC timestamps ("2026-12-07T12:06:45") by calendar arithmetic. glibc's
 * gmtime_r loads the time zone (/etc/localtime) on its first call, though
 * UTC needs none: ~0.06 ms of every start, at the first log line. */
#include "nubfs.h"

#include <stdio.h>

void nubfs_utc_time(int64_t secs, char out[NUBFS_UTC_TIME_MAX])
{
    /* Floor division: a time before 1970 still has its day and second. */
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    /* Days since 1970-01-01 to a proleptic Gregorian date, counting in
     * 400-year eras that start on March 1st (the leap day falls last). */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                   /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                 /* [0, 11], from March */
    int day = (int)(doy - (153 * mp + 2) / 5 + 1);
    int month = (int)(mp < 10 ? mp + 3 : mp - 9);
    long long year = (long long)(yoe + era * 400 + (month <= 2));
    snprintf(out, NUBFS_UTC_TIME_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d", year, month, day,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
}
