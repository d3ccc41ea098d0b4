// core/host_device.h — SEQNET_HOST_DEVICE marks a function that runs on the CPU and inside CUDA
// kernels alike (__host__ __device__ under nvcc, nothing otherwise). Per-element bodies written
// this way are the same code on both backends, and CPU tests can sweep them.
#pragma once

#ifdef __CUDACC__
#define SEQNET_HOST_DEVICE __host__ __device__
#else
#define SEQNET_HOST_DEVICE
#endif
