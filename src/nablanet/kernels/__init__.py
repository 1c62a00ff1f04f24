"""kernels = the speed: fast CPU implementations of the primitives of :mod:`nablanet.ops`.

``ops`` holds each primitive's maths, written plainly (the reference). This package holds the
same primitives organised for the machine, each registered for the primitive it accelerates
(:func:`nablanet.kernels.registry.register`):

* :mod:`~nablanet.kernels.conv`: conv1d / conv2d / conv2d_transpose, im2col a few images or a
  band of rows at a time on worker threads, compiled bias + ReLU and col2im;
* :mod:`~nablanet.kernels.winograd`: Winograd's F(2×2, 3×3) for 3×3 stride-1 convolutions
  (used by ``conv`` and ``conv_pool``);
* :mod:`~nablanet.kernels.pooling`: max pooling, one compiled pass each way;
* :mod:`~nablanet.kernels.conv_pool`: the fused Conv2D + ReLU + max pooling;
* :mod:`~nablanet.kernels.linalg`: big 2-D products split over the worker threads, and the
  dense layer's primitive (product, bias and ReLU) with compiled bias / ReLU passes;
* :mod:`~nablanet.kernels.adam`: the Adam update as one compiled pass over the arrays;
* :mod:`~nablanet.kernels.decompositions`: CP-ALS / HOOI sweeps by mode groups, compiled HALS;
* :mod:`~nablanet.kernels.recurrent`: the float32 LSTM's forward and backward time loops, one
  compiled call each, over slices of the batch on worker threads; the GRU's loop on
  preallocated buffers;

and the shared machinery: :mod:`~nablanet.kernels.threads` (the worker threads and the control
of NumPy's BLAS threads) and :mod:`~nablanet.kernels._numba` (the one place that loads numba).

The switch: ``NABLANET_KERNELS=fast|reference`` in the environment (default ``fast``), or
:func:`set_kernels` / :func:`use_kernels` at run time. With ``reference`` numba is never loaded,
and the code runs without numba installed in either setting.
"""

from nablanet.kernels.registry import get_kernels, set_kernels, use_kernels

__all__ = ["get_kernels", "set_kernels", "use_kernels"]
