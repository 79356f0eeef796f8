// zlib's streaming inflate (gzip and dictzip decoding). `inflateInit2` is a macro in zlib.h, so a
// typed inline wrapper makes it callable from Swift.
#include <zlib.h>

static inline int btx_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
