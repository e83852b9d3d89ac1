/* version.h — mrprof's version, printed by `mrun --version` and `mrprof --version`. */
#ifndef MRPROF_VERSION_H
#define MRPROF_VERSION_H
#define MRPROF_VERSION "0.1.0"
#endif
