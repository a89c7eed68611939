"""`tlspec plan`: what each phase trains, counted by hand on the small CNN of the image tests."""

import json

from helpers import cnn_spec
from tlspec.spec.validate import validate_file


def test_each_phase_counts_what_trains(write_spec, image_data, keras):
    import tlspec
    from tlspec.training.phase_plan import phase_line

    head, finetune = tlspec.plan(validate_file(cnn_spec(write_spec)))
    # conv_1 3*3*3*16 = 432 (no bias: BatchNorm follows), bn_1 4*16 = 64, conv_2 3*3*16*32 = 4,608,
    # bn_2 4*32 = 128; the head 32*2 + 2 = 66.
    assert [(p.name, p.trainable, p.frozen, p.batchnorm_inference) for p in head.components] == [
        ("backbone", 0, 5232, 2), ("animal", 66, 0, 0)]
    assert (head.first_epoch, head.last_epoch, head.learning_rate, head.cached) == (1, 6, 0.01, True)
    # freeze until backbone_bn_1: conv_2 trains; bn_2 stays in inference mode (batchnorm: inference)
    assert [(p.name, p.trainable, p.frozen, p.batchnorm_inference) for p in finetune.components] == [
        ("backbone", 4608, 624, 2), ("animal", 66, 0, 0)]
    assert (finetune.first_epoch, finetune.last_epoch, finetune.learning_rate, finetune.cached) == (7, 8, 0.001,
                                                                                                      False)
    assert [layer.name for layer in finetune.layers if layer.trainable] == ["backbone_conv_2", "animal"]
    assert phase_line(finetune.cached, finetune.why, finetune.components) == (
        "training the heads and part of backbone: backbone 4,608 of 5,232 parameters trainable (layer "
        "'backbone_conv_2' under the heads is trainable; the outputs of the frozen layers up to 'backbone_pool_1' "
        "are larger than the model's inputs); 2 BatchNorm layers in inference mode")
    assert json.loads(json.dumps([head.to_json()]))[0]["components"][0]["frozen"] == 5232
