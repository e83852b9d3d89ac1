#ifndef MRPROF_VERSION_H
#define MRPROF_VERSION_H
#define MRPROF_VERSION "0.1.0"
#endif
