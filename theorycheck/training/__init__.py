"""Trained networks: many small networks of one family trained at once, measured at checkpoints.

* :func:`train_networks`: networks ``[start, start + n)`` of a DSL architecture, initialised as the sampler draws
  them (network i at step 0 is the sampler's network i), each with its own minibatch order, optimised by
  ``torch.optim`` on stacked weights; one row per network with every statistic at every checkpoint.
* :func:`train_module_networks`: the same for a module family (``make()`` → ``nn.Module``), initialised as the
  module sampler initialises it, trained as one ``torch.func.vmap`` of ``functional_call``.
* :class:`TrainConfig` / :func:`train_config`: the recipe (optimizer, lr, schedule, loss, regularizer, ε,
  checkpoints), validated field by field; its docstring states the conventions exactly.
* :class:`Dataset` / :func:`load_dataset`: built-in data with no download (``digits:R``, ``gratings:R``), a user's
  factory ``pkg.mod:factory`` or a ``.npz`` file.
"""

from theorycheck.training._config import LOSSES as LOSSES
from theorycheck.training._config import OPTIMIZERS as OPTIMIZERS
from theorycheck.training._config import REGULARIZERS as REGULARIZERS
from theorycheck.training._config import TrainConfig as TrainConfig
from theorycheck.training._config import train_config as train_config
from theorycheck.training._data import BUILTIN as BUILTIN
from theorycheck.training._data import Dataset as Dataset
from theorycheck.training._data import load_dataset as load_dataset
from theorycheck.training._forward import forward as forward
from theorycheck.training._modules import train_module_networks as train_module_networks
from theorycheck.training._train import STATISTICS as STATISTICS
from theorycheck.training._train import TrainResult as TrainResult
from theorycheck.training._train import initial_weights as initial_weights
from theorycheck.training._train import network_seed as network_seed
from theorycheck.training._train import train_networks as train_networks

__all__ = [
    "BUILTIN",
    "LOSSES",
    "OPTIMIZERS",
    "REGULARIZERS",
    "STATISTICS",
    "Dataset",
    "TrainConfig",
    "TrainResult",
    "forward",
    "initial_weights",
    "load_dataset",
    "network_seed",
    "train_config",
    "train_module_networks",
    "train_networks",
]
