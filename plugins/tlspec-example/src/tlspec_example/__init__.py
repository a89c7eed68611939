"""tlspec-example: a third-party tlspec plugin package, one module per plugin.

``tlspec`` finds this module through the entry point in ``pyproject.toml`` and calls its hook
implementations once, when plugins are discovered. Keep it cheap to import: no Keras here.

- ``small_cnn`` (``small_cnn.py``): a backbone whose stages are endpoints;
- ``coral`` (``coral.py``): a head for ordered classes, with its own Keras layer, loss and
  metric (``coral_keras.py``), declared below by name so ``tlspec validate`` knows them without
  TensorFlow;
- ``feature_table`` (``feature_table.py``): a data source that keeps what prediction needs;
- ``bottom_share`` (``freeze_by_weight.py``): a freeze policy;
- ``strip_accents`` (``transforms.py``): a text transform.
"""

from __future__ import annotations

from tlspec.api import KerasObject, hookimpl
from tlspec_example.coral import Coral
from tlspec_example.feature_table import FeatureTable
from tlspec_example.freeze_by_weight import BottomShare
from tlspec_example.small_cnn import SmallCNN
from tlspec_example.transforms import StripAccents


@hookimpl
def tlspec_backbones():
    return [SmallCNN()]


@hookimpl
def tlspec_heads():
    return [Coral()]


@hookimpl
def tlspec_data_sources():
    return [FeatureTable()]


@hookimpl
def tlspec_freeze_policies():
    return [BottomShare()]


@hookimpl
def tlspec_text_transforms():
    return [StripAccents()]


@hookimpl
def tlspec_keras_objects():
    return [KerasObject("layer", "CoralOutput", "tlspec_example.coral_keras:CoralOutput"),
            KerasObject("loss", "coral_loss", "tlspec_example.coral_keras:coral_loss"),
            KerasObject("metric", "coral_mae", "tlspec_example.coral_keras:coral_mae")]
