#include "profiler/sampler.h"
__thread struct prof_thread *prof__tls;
