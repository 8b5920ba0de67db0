"""Flush subnormal floats to zero inside a kernel, and put the caller's mode back afterwards.

Eligibility traces decay geometrically and a confident neuron's error ``s - p`` can be tiny, so
long runs fill the traces with subnormal float32 values (below 1.2e-38). On x86 every multiply
that touches one takes a microcode assist of ~100 cycles, so GEM training got slower per
example as it learned. Setting the FTZ (flush results to zero) and DAZ (read subnormal inputs
as zero) bits of the thread's MXCSR removes the assist; it only changes values below 1.2e-38.

The mode belongs to a thread, so a kernel sets it in every thread it runs code in (each
``prange`` body) and restores the saved word before returning: the caller's NumPy keeps IEEE
gradual underflow. On other architectures both functions do nothing.
"""

import platform
from contextlib import contextmanager

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "i386")
FTZ_DAZ = np.uint32(0x8040)  # MXCSR bit 15 (flush to zero) and bit 6 (denormals are zero)


def _mxcsr_intrinsic(builder, name):
    fnty = ir.FunctionType(ir.VoidType(), [ir.PointerType(ir.IntType(8))])
    return builder.module.declare_intrinsic(name, fnty=fnty)


@intrinsic
def _read_control(typingctx):
    """The calling thread's MXCSR word (uint32), or 0 off x86."""

    def codegen(context, builder, signature, args):
        word = ir.IntType(32)
        if not X86:
            return ir.Constant(word, 0)
        slot = builder.alloca(word)
        store = _mxcsr_intrinsic(builder, "llvm.x86.sse.stmxcsr")
        builder.call(store, [builder.bitcast(slot, ir.PointerType(ir.IntType(8)))])
        return builder.load(slot)

    return types.uint32(), codegen


@intrinsic
def _write_control(typingctx, value):
    """Load ``value`` (uint32) into the calling thread's MXCSR; nothing off x86."""

    def codegen(context, builder, signature, args):
        if X86:
            slot = builder.alloca(ir.IntType(32))
            builder.store(args[0], slot)
            load = _mxcsr_intrinsic(builder, "llvm.x86.sse.ldmxcsr")
            builder.call(load, [builder.bitcast(slot, ir.PointerType(ir.IntType(8)))])
        return context.get_dummy_value()

    return types.void(types.uint32), codegen


@njit(cache=True, nogil=True)
def flush_subnormals():
    """Turn on flush-to-zero for the calling thread; returns the previous control word."""
    previous = _read_control()
    _write_control(previous | FTZ_DAZ)
    return previous


@njit(cache=True, nogil=True)
def restore_subnormals(previous):
    """Put back the control word :func:`flush_subnormals` returned."""
    _write_control(previous)


@njit(cache=True, nogil=True)
def control_word():
    """The calling thread's floating-point control word (0 off x86)."""
    return _read_control()


@contextmanager
def callers_mode_kept():
    """Run a kernel that flushes subnormals; the calling thread's mode is put back however the
    kernel ends, a raised error included (the kernel's own restore is then skipped)."""
    saved = control_word()
    try:
        yield
    finally:
        restore_subnormals(saved)
