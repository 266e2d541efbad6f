/* Wine 8 has no ProcessPrng, which Go 1.24+ Windows binaries import from
 * bcryptprimitives.dll at start-up. This shim stands in for that DLL inside the Wine
 * prefix only; it is never shipped. RtlGenRandom (advapi32 SystemFunction036) is
 * Wine's own CSPRNG. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
