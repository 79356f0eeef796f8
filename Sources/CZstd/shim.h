// zstd's streaming and one-shot API.
#include <zstd.h>
#include <zstd_errors.h>
