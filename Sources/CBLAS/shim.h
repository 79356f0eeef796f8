// OpenBLAS's CBLAS interface plus its runtime queries (openblas_get_corename, …).
#include <cblas.h>
