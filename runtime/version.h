/* Transitional: the version moved to profiler/base/version.h (viewer/ may not include runtime/). */
#include "profiler/base/version.h"
