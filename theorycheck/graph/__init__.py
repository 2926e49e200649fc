"""Architecture graphs: the DSL's nodes, builder, text form and shape rules."""

from theorycheck.graph._architecture import Architecture as Architecture
from theorycheck.graph._builder import add as add
from theorycheck.graph._builder import avgpool as avgpool
from theorycheck.graph._builder import concat as concat
from theorycheck.graph._builder import conv as conv
from theorycheck.graph._builder import dense as dense
from theorycheck.graph._builder import flatten as flatten
from theorycheck.graph._builder import globalavgpool as globalavgpool
from theorycheck.graph._builder import globalmaxpool as globalmaxpool
from theorycheck.graph._builder import identity as identity
from theorycheck.graph._builder import maxpool as maxpool
from theorycheck.graph._builder import relu as relu
from theorycheck.graph._builder import repeat as repeat
from theorycheck.graph._builder import residual as residual
from theorycheck.graph._builder import serial as serial
from theorycheck.graph._builder import sigmoid as sigmoid
from theorycheck.graph._builder import softplus as softplus
from theorycheck.graph._builder import tanh as tanh
from theorycheck.graph._from_module import Conversion as Conversion
from theorycheck.graph._from_module import convert_module as convert_module
from theorycheck.graph._from_module import from_module as from_module
from theorycheck.graph._init import Init as Init
from theorycheck.graph._nodes import ACTIVATIONS as ACTIVATIONS
from theorycheck.graph._nodes import PADDINGS as PADDINGS
from theorycheck.graph._nodes import Activation as Activation
from theorycheck.graph._nodes import Add as Add
from theorycheck.graph._nodes import AvgPool as AvgPool
from theorycheck.graph._nodes import Branches as Branches
from theorycheck.graph._nodes import Concat as Concat
from theorycheck.graph._nodes import Conv as Conv
from theorycheck.graph._nodes import Dense as Dense
from theorycheck.graph._nodes import Flatten as Flatten
from theorycheck.graph._nodes import GlobalAvgPool as GlobalAvgPool
from theorycheck.graph._nodes import GlobalMaxPool as GlobalMaxPool
from theorycheck.graph._nodes import MaxPool as MaxPool
from theorycheck.graph._nodes import Node as Node
from theorycheck.graph._nodes import Pool as Pool
from theorycheck.graph._nodes import Sequence as Sequence
from theorycheck.graph._shapes import Shape as Shape
from theorycheck.graph._shapes import format_shape as format_shape
from theorycheck.graph._shapes import node_output_shape as node_output_shape
from theorycheck.graph._shapes import parse_input_shape as parse_input_shape
from theorycheck.graph._text import LAYER_NAMES as LAYER_NAMES

__all__ = [
    "ACTIVATIONS",
    "LAYER_NAMES",
    "PADDINGS",
    "Activation",
    "Add",
    "Architecture",
    "AvgPool",
    "Branches",
    "Concat",
    "Conv",
    "Conversion",
    "Dense",
    "Flatten",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "GraphModule",
    "Init",
    "MaxPool",
    "Node",
    "Pool",
    "Sequence",
    "Shape",
    "add",
    "avgpool",
    "concat",
    "conv",
    "convert_module",
    "dense",
    "flatten",
    "format_shape",
    "from_module",
    "globalavgpool",
    "globalmaxpool",
    "identity",
    "maxpool",
    "node_output_shape",
    "parse_input_shape",
    "relu",
    "repeat",
    "residual",
    "serial",
    "sigmoid",
    "softplus",
    "tanh",
    "to_module",
]


def __getattr__(name: str) -> object:
    """``to_module`` and ``GraphModule`` import torch: loaded on first use, so that parsing stays light."""
    if name in ("to_module", "GraphModule"):
        from theorycheck.graph import _to_module

        return getattr(_to_module, name)
    raise AttributeError(f"module 'theorycheck.graph' has no attribute {name!r}")
