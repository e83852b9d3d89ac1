/* Transitional: fileio moved to profiler/base/fileio.h (runtime/ still includes this path until the merge). */
#include "profiler/base/fileio.h"
