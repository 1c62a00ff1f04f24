r"""Tensor algebra (chapter §2): products, unfoldings and the CP, Tucker and TT decompositions.

Products (§2.1) accept NumPy arrays or nablanet Tensors (then they are differentiable):
:func:`outer`, :func:`kronecker`, :func:`khatri_rao`, :func:`hadamard`, with
:func:`unfold`, :func:`fold`, :func:`mode_dot` and :func:`multi_mode_dot`.

Decompositions (§2.2) work on arrays in float64 and return small result types with
``to_dense()``, ``n_parameters``, ``relative_error(tensor)`` and ``compression_ratio()``:

- :func:`cp` -> :class:`CPTensor`:
  :math:`\mathcal{T} \approx \sum_r \lambda_r u_r^{(1)} \circ \dots \circ u_r^{(N)}`
- :func:`tucker` -> :class:`TuckerTensor`:
  :math:`\mathcal{T} \approx \mathcal{C} \times_1 A^{(1)} \cdots \times_N A^{(N)}`
- :func:`tensor_train` -> :class:`TTTensor`:
  :math:`t_{i_1 \dots i_N} \approx G_1[i_1] \cdots G_N[i_N]`

and :func:`random_cp`, :func:`random_tucker`, :func:`random_tt` generate test tensors.

References: T. G. Kolda and B. W. Bader, "Tensor Decompositions and Applications", SIAM
Review 51(3), 2009; I. V. Oseledets, "Tensor-Train Decomposition", SIAM J. Sci. Comput.
33(5), 2011.
"""

from nablanet.tensor_algebra.cp import (
    cp,
    initialize_cp,
    parafac,
    randomised_parafac,
    sample_khatri_rao,
)
from nablanet.tensor_algebra.estimators import (
    CP,
    CP_NN,
    CP_NN_HALS,
    RandomizedCP,
    TensorTrain,
    TensorTrainMatrix,
    Tucker,
    Tucker_NN,
    Tucker_NN_HALS,
)
from nablanet.tensor_algebra.formats import (
    CPTensor,
    TTMatrix,
    TTTensor,
    TuckerTensor,
    random_cp,
    random_tt,
    random_tucker,
)
from nablanet.tensor_algebra.nn_cp import non_negative_parafac, non_negative_parafac_hals
from nablanet.tensor_algebra.nn_tucker import non_negative_tucker, non_negative_tucker_hals
from nablanet.tensor_algebra.products import batched_outer, hadamard, khatri_rao, kronecker, outer
from nablanet.tensor_algebra.tensor_train import tensor_train, tensor_train_matrix
from nablanet.tensor_algebra.tucker import partial_tucker, tucker
from nablanet.tensor_algebra.unfolding import fold, mode_dot, multi_mode_dot, unfold

__all__ = [
    "CP",
    "CP_NN",
    "CP_NN_HALS",
    "RandomizedCP",
    "TensorTrain",
    "TensorTrainMatrix",
    "Tucker",
    "Tucker_NN",
    "Tucker_NN_HALS",
    "non_negative_tucker",
    "non_negative_tucker_hals",
    "CPTensor",
    "TTMatrix",
    "TTTensor",
    "TuckerTensor",
    "batched_outer",
    "cp",
    "fold",
    "hadamard",
    "khatri_rao",
    "kronecker",
    "mode_dot",
    "multi_mode_dot",
    "initialize_cp",
    "non_negative_parafac",
    "non_negative_parafac_hals",
    "outer",
    "parafac",
    "partial_tucker",
    "random_cp",
    "random_tt",
    "random_tucker",
    "randomised_parafac",
    "sample_khatri_rao",
    "tensor_train",
    "tensor_train_matrix",
    "tucker",
    "unfold",
]
