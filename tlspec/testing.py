"""Contract checks for plugin authors: test a plugin the way tlspec will use it, from your own pytest suite.

::

    from tlspec.testing import check_backbone, check_head

    def test_my_backbone(tmp_path):
        check_backbone(MyBackbone(), {"filters": [8, 16], "input_shape": [32, 32, 3]}, tmp_path)

    def test_my_head(tmp_path):
        check_head(MyHead(), {"classes": 4}, tmp_path, input_shape=[12])

Each check builds a small spec around the plugin and runs it through tlspec itself: validate
(config, static plan), build on real shapes, the plan and the build agree (output, endpoints,
layers), every layer carries its component's name as a prefix and every weight belongs to a layer
the component owns, a tiny train gives a finite loss, the model saves, reloads in safe mode and
predicts the same. A broken contract raises ``ContractError`` saying what to change. ``run_cli``
runs the ``tlspec`` command as a user would. The plugin need not be installed: the checks register
it for themselves (pass its Keras objects as ``keras_objects``).
"""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tlspec.errors import SpecError, TlspecError
from tlspec.plugin.keras_objects import KerasObject
from tlspec.plugin.kinds import KINDS, Plugin
from tlspec.plugin.manager import Origin, Registry, default_registry, discover
from tlspec.plugin.shapes import FreezeTarget, LayerInfo, TensorInfo, format_shape

__all__ = ["ContractError", "CheckReport", "check_backbone", "check_head", "check_freeze_policy",
           "check_data_source", "check_transform", "check_tracker", "run_cli"]


class ContractError(AssertionError):
    """The plugin breaks tlspec's plugin contract; the message says where and what to change."""


@dataclass
class CheckReport:
    """What a check verified, in order (handy to print in a test's output)."""

    plugin: str
    passed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.plugin}: " + "; ".join(self.passed)


def check_backbone(plugin, options: dict, tmp_path: Path, *, input_shape: Sequence[int] | None = None,
                   input_dtype: str = "float32", keras_objects: Sequence[KerasObject] = ()) -> CheckReport:
    """A backbone (or block): ``options`` is its section without ``plugin``; ``input_shape`` (without the
    batch axis) feeds it a model input, else it must create its own inputs (e.g. from ``input_shape``).
    ``keras_objects``: the plugin's Keras objects, when the plugin is not installed."""
    section = {"plugin": plugin.name, **options}
    spec = {"tlspec": 1, "name": "contract-check", "seed": 0}
    if input_shape is not None:
        spec["inputs"] = {"x": {"shape": list(input_shape), "dtype": input_dtype}}
        section.setdefault("from", "inputs.x")
    spec.update(backbone=section, heads=[{"name": "check_output", "plugin": "regression"}])
    return _check_model(plugin, spec, tmp_path, "backbone", keras_objects)


def check_head(plugin, options: dict, tmp_path: Path, *, input_shape: Sequence[int] = (8,),
               name: str = "check_head", keras_objects: Sequence[KerasObject] = ()) -> CheckReport:
    """A head reading one tensor of ``input_shape`` (without the batch axis); ``options`` is its section
    without ``plugin`` and ``name``; ``keras_objects``: its loss, metrics, layers, when it is not installed."""
    spec = {"tlspec": 1, "name": "contract-check", "seed": 0,
            "inputs": {"x": {"shape": list(input_shape)}},
            # the model needs a backbone; flattening lets it read inputs of any rank beside the head
            "backbone": {"plugin": "mlp", "from": "inputs.x", "units": [4], "flatten": len(input_shape) > 1},
            "heads": [{"name": name, "plugin": plugin.name, "from": "inputs.x", **options}]}
    return _check_model(plugin, spec, tmp_path, name, keras_objects)


def check_freeze_policy(plugin, options: dict, tmp_path: Path) -> CheckReport:
    """A freeze policy on a three-layer MLP (one BatchNorm): it returns names of the layers it was shown,
    and tlspec freezes exactly those (BatchNorm stays frozen in inference mode)."""
    report = CheckReport(plugin.name)
    layers = (LayerInfo("backbone_dense_1", True), LayerInfo("backbone_norm", True, is_batchnorm=True),
              LayerInfo("backbone_dense_2", True))
    config = _config(plugin, options)
    selected = plugin.select(config, FreezeTarget("backbone", "mlp", layers))
    if not isinstance(selected, (set, frozenset, list, tuple)):
        raise ContractError(f"{plugin.name}.select() returned {type(selected).__name__}; return a set of layer names")
    unknown = set(selected) - {layer.name for layer in layers}
    if unknown:
        raise ContractError(f"{plugin.name}.select() named layers it was not shown: {sorted(unknown)}")
    report.passed.append(f"select() chose {sorted(selected)} of {len(layers)} layers")
    spec = {"tlspec": 1, "name": "contract-check", "seed": 0, "inputs": {"x": {"shape": [3]}},
            "backbone": {"plugin": "mlp", "from": "inputs.x", "units": [4, 4]},
            "freeze": {"plugin": plugin.name, **options},
            "heads": [{"name": "check_output", "plugin": "regression"}]}
    registry = _registry_with(plugin)
    assembly = _assemble(_validate(spec, tmp_path, registry))
    trainable = {layer.name for layer in assembly.built["backbone"].layers if layer.trainable}
    frozen = {layer.name for layer in assembly.built["backbone"].layers} - trainable
    if frozen != assembly.frozen_layers:
        raise ContractError(f"tlspec froze {sorted(frozen)} but the policy chose {sorted(assembly.frozen_layers)}")
    report.passed.append(f"built and froze {sorted(frozen) or 'nothing'}")
    return report


def check_data_source(plugin, options: dict, tmp_path: Path, *, spec_dir: Path | None = None,
                      heads: Sequence[str] = ("target",)) -> CheckReport:
    """A data source: ``describe`` is TensorFlow-free and matches what ``datasets`` yields, split by split
    (inputs, targets, shapes, dtypes, example counts); ``prediction_state`` is JSON. ``prediction_inputs``
    is not called (its items are the source's own format): test it directly, with ``context.state`` set
    to what ``prediction_state`` returned. Paths in ``options`` are relative to ``spec_dir`` (default
    ``tmp_path``)."""
    import json

    from tlspec.plugin.data import DataContext

    report = CheckReport(plugin.name)
    config = _config(plugin, options)
    context = DataContext(Path(spec_dir or tmp_path), tuple(heads), seed=0, batch_size=4)
    already_imported = "tensorflow" in sys.modules
    description = _call(plugin, "describe", config, context)
    if not already_imported and "tensorflow" in sys.modules:
        raise ContractError(f"{plugin.name}.describe() imported TensorFlow; import it inside datasets()")
    report.passed.append(f"describe(): {description.splits}")
    datasets = _call(plugin, "datasets", config, context)
    if set(datasets) != set(description.splits):
        raise ContractError(f"datasets() gave splits {sorted(datasets)}; describe() declared "
                            f"{sorted(description.splits)}")
    for split, dataset in datasets.items():
        _check_split(plugin.name, split, dataset, description)
    report.passed.append("datasets() yield what describe() declared")
    state = _call(plugin, "prediction_state", config, context)
    try:
        json.dumps(state, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ContractError(f"{plugin.name}.prediction_state() must return JSON-ready data: {error}") from None
    report.passed.append("prediction_state() is JSON")
    return report


def check_transform(plugin, options: dict, texts: Sequence[str] = ("Hello, World!", "", "ünïcödé 123")) -> CheckReport:
    """A text transform: ``apply`` returns text for every sample, without TensorFlow."""
    report = CheckReport(plugin.name)
    config = _config(plugin, options)
    already_imported = "tensorflow" in sys.modules
    for text in texts:
        result = _call(plugin, "apply", config, text)
        if not isinstance(result, str):
            raise ContractError(f"{plugin.name}.apply({text!r}) returned {type(result).__name__}, not str")
    if not already_imported and "tensorflow" in sys.modules:
        raise ContractError(f"{plugin.name}.apply() imported TensorFlow; transforms run at validate time")
    report.passed.append(f"apply() on {len(texts)} texts")
    return report


def check_tracker(plugin, options: dict, tmp_path: Path) -> CheckReport:
    """A tracker: ``check`` is TensorFlow-free; ``open`` returns a ``TrackerSession`` that takes the spec's
    parameters, two epochs of metrics, a file and the end (``finished``), and says its ``state`` as JSON;
    a second session opened with that state (``--resume``) takes more metrics and closes too."""
    import json

    from tlspec.plugin.tracking import TrackedRun, TrackerSession

    report = CheckReport(plugin.name)
    config = _config(plugin, options)
    already_imported = "tensorflow" in sys.modules
    _call(plugin, "check", config)
    if not already_imported and "tensorflow" in sys.modules:
        raise ContractError(f"{plugin.name}.check() imported TensorFlow; it runs at validate time")
    report.passed.append("check() without TensorFlow")
    run_dir = tmp_path / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    artifact = run_dir / "metrics.json"
    artifact.write_text('{"test": {"head": {"accuracy": 0.5}}}\n', encoding="utf-8")
    session = _call(plugin, "open", config, TrackedRun("checked", run_dir, tmp_path))
    if not isinstance(session, TrackerSession):
        raise ContractError(f"{plugin.name}.open() returned {type(session).__name__}, not a TrackerSession")
    for method, args in (("log_params", ({"name": "checked", "train.epochs": "2"},)),
                         ("log_metrics", ({"loss": 0.7, "val_accuracy": 0.5}, 1)),
                         ("log_metrics", ({"loss": 0.6, "val_accuracy": 0.75}, 2)),
                         ("log_artifact", (artifact,)), ("close", ("interrupted",))):
        _call(session, method, *args)
    state = _call(session, "state")
    try:
        json.dumps(state)
    except (TypeError, ValueError):
        raise ContractError(f"{plugin.name}: state() returned {state!r}, which is not JSON") from None
    report.passed.append("a session: params, 2 epochs, a file, close('interrupted')")
    resumed = _call(plugin, "open", config, TrackedRun("checked", run_dir, tmp_path, state))
    for method, args in (("log_metrics", ({"loss": 0.5}, 3)), ("close", ("finished",))):
        _call(resumed, method, *args)
    report.passed.append("a resumed session: 1 epoch, close('finished')")
    return report


def run_cli(*args, cwd: Path | str | None = None, env: dict | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """``tlspec ARGS…`` in a fresh process, as a user runs it; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, "-m", "tlspec.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


# --- the model checks -------------------------------------------------------------------------------------

def _check_model(plugin, spec: dict, tmp_path: Path, component: str,
                 keras_objects: Sequence[KerasObject] = ()) -> CheckReport:
    report = CheckReport(plugin.name)
    registry = _registry_with(plugin, keras_objects)
    validated = _validate(spec, tmp_path, registry)
    static = validated.graph.components[component].plan
    report.passed.append(f"validate: static plan {format_shape(static.output.shape)}")
    assembly = _assemble(validated)
    built = assembly.built[component]
    _plan_agrees(component, static, built)
    report.passed.append("plan and build agree")
    _layers_are_owned(component, built, assembly)
    report.passed.append(f"{len(built.layers)} layers, prefixed '{component}', owning their weights")
    _trains_saves_reloads(assembly, tmp_path)
    report.passed.append("trains, saves, reloads in safe mode, predicts the same")
    return report


def _plan_agrees(component: str, static, built) -> None:
    made = TensorInfo.of(built.output)
    if not _fits(static.output, made):
        raise ContractError(f"plan and build disagree on the output shape of '{component}': plan says "
                            f"{format_shape(static.output.shape)}, build made {format_shape(made.shape)}")
    for name, planned in (static.endpoints or {}).items():
        if name not in built.endpoints:
            raise ContractError(f"plan declares endpoint '{component}.{name}' but build did not return it")
        if not _fits(planned, TensorInfo.of(built.endpoints[name])):
            raise ContractError(f"plan and build disagree on '{component}.{name}': plan says "
                                f"{format_shape(planned.shape)}, build made "
                                f"{format_shape(TensorInfo.of(built.endpoints[name]).shape)}")
    if static.layers is not None:
        planned_names = [layer.name for layer in static.layers]
        built_names = [layer.name for layer in built.layers]
        if planned_names != built_names:
            missing = sorted(set(built_names) - set(planned_names))
            extra = sorted(set(planned_names) - set(built_names))
            raise ContractError(f"plan and build disagree on the layers of '{component}': built but not planned "
                                f"{missing}, planned but not built {extra} (list them in graph order, or leave "
                                "ComponentPlan.layers as None)")


def _fits(planned: TensorInfo, made: TensorInfo) -> bool:
    if planned.shape is None:
        return True
    if made.shape is None or len(planned.shape) != len(made.shape):
        return False
    return all(p is None or p == m for p, m in zip(planned.shape[1:], made.shape[1:]))


def _layers_are_owned(component: str, built, assembly) -> None:
    for layer in built.layers:
        if not layer.name.startswith(component):
            raise ContractError(f"layer '{layer.name}' of '{component}' lacks its component prefix: name each "
                                f"layer f\"{{context.name}}_...\" (here '{component}_...'), so that two components "
                                "using the plugin, and freeze policies, can tell them apart")
    owned = {id(weight) for built_component in assembly.built.values() for layer in built_component.layers
             for weight in layer.weights}
    stray = [weight.path for weight in assembly.model.weights if id(weight) not in owned]
    if stray:
        raise ContractError(f"weights no component's layers own: {stray[:5]}; return every layer you create in "
                            "Built.layers, or leave it empty for tlspec to find them")


def _trains_saves_reloads(assembly, tmp_path: Path) -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    from tlspec.model.compile import compile_model
    from tlspec.model.targets import head_targets, prepare

    compile_model(assembly)
    rng = np.random.default_rng(0)
    inputs = {name: _random(rng, tensor, 8) for name, tensor in assembly.inputs.items()}
    targets, head_target_list = {}, head_targets(assembly)
    for target in head_target_list:
        shape = (8, *assembly.built[target.name].output.shape[1:])
        if target.encoding == "labels":
            label_shape = shape[:-1] if len(shape) > 2 else (8,)
            targets[target.name] = rng.integers(0, max(1, target.units), label_shape).astype("int32")
        elif target.encoding == "one_hot":
            targets[target.name] = rng.integers(0, target.units, (8,)).astype("int32")
        else:
            targets[target.name] = rng.random(shape).astype("float32")
    dataset = prepare(tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(4), head_target_list, {})
    history = assembly.model.fit(dataset, epochs=1, verbose=0)
    loss = history.history["loss"][-1]
    if not np.isfinite(loss):
        raise ContractError(f"a tiny training run gave loss {loss}")
    path = tmp_path / "contract-check.keras"
    assembly.model.save(path)
    try:  # assemble registered the registry's Keras objects, as tlspec does before every load
        reloaded = keras.saving.load_model(path, safe_mode=True)
    except (TypeError, ValueError) as error:
        raise ContractError(f"the saved model does not reload in safe mode: {str(error).splitlines()[0][:300]} "
                            "(register custom layers with @keras.saving.register_keras_serializable and declare "
                            "them in tlspec_keras_objects; no Lambda layers)") from None
    before, after = assembly.model.predict(inputs, verbose=0), reloaded.predict(inputs, verbose=0)
    for name in before:
        if not np.allclose(before[name], after[name], atol=1e-5):
            raise ContractError(f"the reloaded model predicts differently for '{name}': a layer's get_config or "
                                "weights do not round-trip")


def _random(rng, tensor, count: int):
    shape = tuple(dim if dim is not None else 5 for dim in tensor.shape[1:])
    if "int" in str(tensor.dtype):
        return rng.integers(0, 3, (count, *shape)).astype("int32")
    return rng.random((count, *shape)).astype("float32")


# --- plumbing -------------------------------------------------------------------------------------------------

def _registry_with(plugin: Plugin, keras_objects: Sequence[KerasObject] = ()) -> Registry:
    """The installed plugins, plus ``plugin`` (and its Keras objects) when it is not one of them."""
    installed = default_registry()
    record = installed.records.get(plugin.kind, {}).get(plugin.name)
    if record is not None and type(record.plugin) is type(plugin):
        return installed
    module = types.ModuleType(f"tlspec_testing_{plugin.name}")
    setattr(module, KINDS[plugin.kind].hook_name, _hook([plugin]))
    if keras_objects:
        module.tlspec_keras_objects = _hook(list(keras_objects))
    registry = discover([(module, Origin(plugin.name, "tlspec-testing", "0"))])
    if plugin.name not in registry.records[plugin.kind] or \
            registry.records[plugin.kind][plugin.name].origin.distribution != "tlspec-testing":
        failures = "; ".join(str(failure) for failure in registry.failures) or "its name is taken"
        raise ContractError(f"cannot register {plugin.kind} plugin '{plugin.name}' for the check: {failures}")
    return registry


def _hook(provided: list):
    from tlspec.plugin.hookspecs import hookimpl

    return hookimpl(lambda: provided)


def _validate(spec: dict, tmp_path: Path, registry: Registry):
    from tlspec.spec.validate import validate_file

    path = Path(tmp_path) / "contract-check.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    try:
        return validate_file(path, registry=registry)
    except SpecError as error:
        raise ContractError(f"validate refused the check's spec ({path}):\n{error}") from None


def _assemble(validated):
    from tlspec.model.assemble import assemble

    try:
        return assemble(validated)
    except TlspecError as error:
        raise ContractError(f"build failed:\n{error}") from None


def _config(plugin, options: dict):
    from pydantic import ValidationError

    try:
        return plugin.Config.model_validate({"plugin": plugin.name, **options})
    except ValidationError as error:
        raise ContractError(f"{plugin.name}'s Config refused the options {options}: {error}") from None


def _call(plugin, method: str, *args) -> Any:
    try:
        return getattr(plugin, method)(*args)
    except ContractError:
        raise
    except Exception as error:
        name = getattr(plugin, "name", type(plugin).__name__)
        raise ContractError(f"{name}.{method}() failed: {type(error).__name__}: {error}") from error


def _check_split(name: str, split: str, dataset, description) -> None:
    import numpy as np

    count = 0
    for batch in dataset:
        inputs, targets = batch[0], batch[1]
        if set(inputs) != set(description.inputs) or set(targets) != set(description.targets):
            raise ContractError(f"{name} {split}: batches hold inputs {sorted(inputs)} and targets {sorted(targets)}; "
                                f"describe() declared {sorted(description.inputs)} and {sorted(description.targets)}")
        for kind, values, declared in (("input", inputs, description.inputs), ("target", targets,
                                                                              description.targets)):
            for key, tensor in values.items():
                shape = tuple(np.asarray(tensor).shape[1:])
                expected = declared[key].shape
                if len(shape) != len(expected) or any(e is not None and e != s for e, s in zip(expected, shape)):
                    raise ContractError(f"{name} {split}: {kind} '{key}' has shape {shape} per example; describe() "
                                        f"declared {expected}")
        count += int(np.asarray(next(iter(inputs.values()))).shape[0])
    if count != description.splits[split]:
        raise ContractError(f"{name} {split}: datasets() yields {count} examples; describe() declared "
                            f"{description.splits[split]}")
