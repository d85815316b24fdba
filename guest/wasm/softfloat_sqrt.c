/* Square roots of binary32 and binary64, correctly rounded. The integer
 * square root starts from a table with linear interpolation (about 17
 * correct bits), so one Newton step and one check give the exact floor;
 * binary64 takes one more Newton step in 128 bits. */
#include "softfloat_internal.h"

/* isqrt_tab[j - 64] = floor(sqrt(j * 2^40)) for j = 64..256, i.e.
 * sqrt(j * 2^56) / 2^8: the square root at the start of each of the 192
 * intervals [j * 2^56, (j + 1) * 2^56) covering [2^62, 2^64).
 * Generated with: [math.isqrt(j << 40) for j in range(64, 257)]. */
static const uint32_t isqrt_tab[193] = {
    8388608, 8453889, 8518671, 8582964, 8646779, 8710126, 8773016, 8835458,
    8897462, 8959037, 9020191, 9080934, 9141273, 9201217, 9260772, 9319947,
    9378748, 9437184, 9495259, 9552982, 9610357, 9667393, 9724093, 9780465,
    9836514, 9892246, 9947665, 10002777, 10057587, 10112100, 10166321, 10220254,
    10273904, 10327275, 10380372, 10433199, 10485760, 10538058, 10590098, 10641884,
    10693418, 10744706, 10795750, 10846554, 10897121, 10947454, 10997557, 11047433,
    11097085, 11146515, 11195728, 11244724, 11293509, 11342083, 11390450, 11438613,
    11486574, 11534336, 11581900, 11629270, 11676448, 11723436, 11770236, 11816851,
    11863283, 11909533, 11955605, 12001500, 12047221, 12092768, 12138144, 12183352,
    12228392, 12273267, 12317978, 12362528, 12406918, 12451150, 12495225, 12539145,
    12582912, 12626527, 12669992, 12713308, 12756477, 12799501, 12842380, 12885117,
    12927713, 12970168, 13012485, 13054665, 13096710, 13138619, 13180395, 13222040,
    13263553, 13304937, 13346193, 13387322, 13428324, 13469202, 13509956, 13550588,
    13591098, 13631488, 13671758, 13711910, 13751945, 13791863, 13831667, 13871356,
    13910932, 13950396, 13989748, 14028990, 14068123, 14107147, 14146063, 14184873,
    14223576, 14262175, 14300670, 14339061, 14377349, 14415536, 14453622, 14491608,
    14529495, 14567283, 14604973, 14642566, 14680064, 14717465, 14754772, 14791984,
    14829104, 14866130, 14903065, 14939908, 14976660, 15013323, 15049896, 15086381,
    15122778, 15159087, 15195309, 15231446, 15267497, 15303462, 15339344, 15375142,
    15410856, 15446489, 15482039, 15517507, 15552895, 15588202, 15623430, 15658578,
    15693648, 15728640, 15763553, 15798390, 15833150, 15867834, 15902442, 15936975,
    15971433, 16005817, 16040128, 16074365, 16108530, 16142622, 16176642, 16210591,
    16244469, 16278277, 16312014, 16345682, 16379280, 16412810, 16446271, 16479665,
    16512991, 16546250, 16579442, 16612568, 16645627, 16678622, 16711551, 16744415,
    16777216,
};

uint32_t nub_sf_isqrt64(uint64_t y)
{
    /* Interpolating between the table's points stays below the curve (the
     * square root is concave) by less than 2^14, and the truncations cost
     * less than 3 * 2^8 more, so s0 = estimate + 2^15 is an upper bound
     * at most 2^15 above sqrt(y). Newton's step from above then lands
     * within 1/4 above the root: floor(sqrt(y)) or one more. */
    uint32_t j = (uint32_t)(y >> 56) - 64;
    uint64_t f = (y >> 40) & 0xffff;
    uint64_t lo = isqrt_tab[j], hi = isqrt_tab[j + 1];
    uint64_t s = ((lo + (((hi - lo) * f) >> 16)) << 8) + (1u << 15);
    s = (s + y / s) >> 1;
    if (s > 0xffffffffu)
        s = 0xffffffffu;
    if (s * s > y)
        s--;
    return (uint32_t)s;
}

nub_f32 nub_f32_sqrt(nub_f32 a)
{
    uint32_t e = (a >> 23) & 0xff;
    uint32_t frac = a & F32_FRAC;
    if (e - 1 >= 0xfe) {
        if (f32_is_nan(a))
            return a | F32_QUIET;
        if ((a << 1) == 0)
            return a; /* sqrt(-0) = -0 */
        if (a & F32_SIGN)
            return F32_CANON;
        if (e == 0xff)
            return a; /* +inf */
    }
    if (a & F32_SIGN)
        return F32_CANON;
    int32_t x;
    if (e == 0)
        x = f32_norm_sub(&frac);
    else {
        x = (int32_t)e;
        frac |= 0x00800000u;
    }
    /* a = frac * 2^(u - 23) with u = x - 127. Scale frac by 2^39 or 2^40
     * into [2^62, 2^64) so that u - 23 - shift is even; the root then has
     * its leading one at bit 31, and the remainder is sticky. */
    int32_t u = x - 127;
    uint32_t shift = 39 + ((uint32_t)u & 1);
    uint64_t y = (uint64_t)frac << shift;
    uint32_t r = nub_sf_isqrt64(y);
    uint32_t sig = (r >> 1) | (r & 1) | ((uint64_t)r * r != y);
    return f32_round_pack(0, 157 + (u - 23 - (int32_t)shift) / 2, sig);
}

nub_f64 nub_f64_sqrt(nub_f64 a)
{
    uint32_t e = (uint32_t)(a >> 52) & 0x7ff;
    uint64_t frac = a & F64_FRAC;
    if (e - 1 >= 0x7fe) {
        if (f64_is_nan(a))
            return a | F64_QUIET;
        if ((a << 1) == 0)
            return a;
        if (a & F64_SIGN)
            return F64_CANON;
        if (e == 0x7ff)
            return a;
    }
    if (a & F64_SIGN)
        return F64_CANON;
    int32_t x;
    if (e == 0)
        x = f64_norm_sub(&frac);
    else {
        x = (int32_t)e;
        frac |= 1ull << 52;
    }
    /* frac * 2^74 or 2^75 is in [2^126, 2^128); its root in [2^63, 2^64).
     * The 64-bit root of the high half, plus one, times 2^32 is an upper
     * bound less than 2^32 above; one Newton step in 128 bits brings it
     * to the floor or one above. */
    int32_t u = x - 1023;
    uint32_t shift = 74 + ((uint32_t)u & 1);
    uint64_t yhi = frac << (shift - 64), ylo = 0;
    uint64_t t = (uint64_t)nub_sf_isqrt64(yhi) + 1;
    uint64_t s0 = t >> 32 ? ~0ull : t << 32;
    uint64_t rem;
    uint64_t q = div128(yhi, ylo, s0, &rem);
    uint64_t s = (s0 >> 1) + (q >> 1) + (s0 & q & 1);
    sf_u128 x2 = ((sf_u128)yhi << 64) | ylo;
    sf_u128 sq = (sf_u128)s * s;
    if (sq > x2) {
        s--;
        sq = (sf_u128)s * s;
    }
    uint64_t sig = (s >> 1) | (s & 1) | (sq != x2);
    return f64_round_pack(0, 1085 + (u - 52 - (int32_t)shift) / 2, sig);
}
