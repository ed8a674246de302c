"""The run-time audit agrees with the static check (issue 13): every fixture script is run for
real by the oracle (`python -m tests.oracle --audit-only`: on the meta device, in one process)
and `freezelint.audit` is called on the models, optimizers and schedulers it built, at its
first optimizer step (the state training uses) or, when it never steps, as it ends. The codes
the audit finds must be the static codes of the fixture's `.expected` that the audit can see
(AUDITED). A disagreement that stays is in KNOWN with its reason; an entry of KNOWN that no
longer disagrees fails as well, so that the table stays true. Scripts that build no model the
oracle records (syntax errors, nothing built) are skipped with their reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fixture_format import FIXTURES, fixture_scripts, read_expected
from tests.oracle_pool import run_oracle

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = fixture_scripts()
AUDITED = frozenset(
    {
        "FRZ001",
        "FRZ002",
        "FRZ006",
        "FRZ007",
        "FRZ009",
        "FRZ010",
        "FRZ011",
        "FRZ014",
        "FRZ017",
        "FRZ019",
    }
)

# Each reason is one or more lines, each starting with what differs: `+FRZ0xx` the audit alone
# finds, `-FRZ0xx` static alone reports. The test checks the lines add up to the disagreement.

# The static rule speaks at a `.train()` call (the catalogue: "the model is put in training mode
# (`.train()`)"); a module is in training mode from the moment it is built. Checked here: the
# script has no `.train(` or `.eval(` call, and it steps (or not) as the reason says.
TRAINING_SINCE_BUILT = (
    "+FRZ009: the script never calls `.train()` or `.eval()`: at the first step its frozen "
    "BatchNorm layers are in the training mode every module is built in, and the forward before "
    "it moved their statistics (the audit's FRZ009); static FRZ009 reports a `.train()` call, "
    "and there is none"
)
NEVER_TRAINED = (
    "+FRZ009: the script never calls `.train()` or `.eval()` and never steps: as it ends, its "
    "frozen BatchNorm layers are in the training mode every module is built in (the audit's "
    "FRZ009), though nothing trains; static FRZ009 reports a `.train()` call, and there is none"
)
# torch refuses the mistake where it is made: no optimizer, or no such group, exists to audit.
# Checked here: the script raised that error.
EMPTY_OPTIMIZER = (
    "-FRZ011: torch.optim raises 'optimizer got an empty parameter list' where the optimizer is "
    "built: there is no optimizer to audit (static FRZ011 says torch raises there)"
)
EMPTY_OPTIMIZER_BEFORE_SWAP = (
    "-FRZ002 -FRZ011: torch.optim raises 'optimizer got an empty parameter list' where the "
    "optimizer is built: there is no optimizer to audit, and the head replacement after it "
    "never runs (static reports both: FRZ011 says torch raises there)"
)
DUPLICATE_REFUSED = (
    "-FRZ007: torch.optim raises 'some parameters appear in more than one parameter group' "
    "where the second group is added: no optimizer holds a tensor twice to audit"
)
DUPLICATE_AFTER_FIRST_STEP = (
    "-FRZ007: torch.optim raises 'some parameters appear in more than one parameter group' "
    "where the group is added a second time, an epoch after the first optimizer step, where "
    "the audit looked: by then no optimizer held a tensor twice"
)
ERRORS = {
    EMPTY_OPTIMIZER: "ValueError: optimizer got an empty parameter list",
    EMPTY_OPTIMIZER_BEFORE_SWAP: "ValueError: optimizer got an empty parameter list",
    DUPLICATE_REFUSED: "ValueError: some parameters appear in more than one parameter group",
}


def _and(*reasons: str) -> str:
    return "\n".join(reasons)


def unfrozen_before_step(what: str) -> str:
    """FRZ008 (not audited) as the audit sees it."""
    return (
        f"+FRZ006: {what} is unfrozen after the optimizer is built without it, before the first "
        f"step: there the audit finds trainable tensors in no param group (its FRZ006); static "
        f"tells the cause, FRZ008 (unfrozen after the optimizer), which the audit cannot see"
    )


def after_first_step(code: str, what: str) -> str:
    """A mistake made at a later epoch: the audit runs at the first step, before it."""
    return (
        f"{code}: {what}, after the first step (epoch 0), where the audit runs and sees the "
        f"state before the mistake; static reports the later line"
    )


UNREAD_CONSTRUCTOR_REST = (
    "+FRZ006: the model comes from a constructor freezelint does not read: what it holds beside "
    "the frozen part the script names (trainable, in no optimizer: the audit's FRZ006) is not "
    "known statically"
)

KNOWN = {
    "FRZ011/frozen_blocks_of_unknown_constructor.py": UNREAD_CONSTRUCTOR_REST,
    "FRZ000/ok_new_syntax.py": NEVER_TRAINED,
    "FRZ001/arch_flag_arms.py": TRAINING_SINCE_BUILT,
    "FRZ001/effnet_in_functions.py": TRAINING_SINCE_BUILT,
    "FRZ001/enumerate_first_k_default.py": TRAINING_SINCE_BUILT,
    "FRZ001/every_arm_same_mistake.py": TRAINING_SINCE_BUILT,
    "FRZ001/features_frozen_all_params.py": TRAINING_SINCE_BUILT,
    "FRZ001/freeze_all_but_head_timm.py": TRAINING_SINCE_BUILT,
    "FRZ001/head_swapped_after_freeze.py": TRAINING_SINCE_BUILT,
    "FRZ001/helper_freezes_effnet_stem_and_blocks.py": TRAINING_SINCE_BUILT,
    "FRZ001/ok_filtered.py": TRAINING_SINCE_BUILT,
    "FRZ001/ok_head_only.py": TRAINING_SINCE_BUILT,
    "FRZ001/ok_helper_unfreezes_after_warmup.py": _and(
        "+FRZ001: progressive unfreezing: Adam gets every parameter while `model._blocks` is "
        "frozen, and `set_trainable(model._blocks, True)` unfreezes it at epoch 1; at the first "
        "step (epoch 0) the audit sees its 205 frozen tensors in the optimizer, static FRZ001 is "
        "silent because of the later unfreeze",
        TRAINING_SINCE_BUILT,
    ),
    "FRZ001/ok_list_comprehension_requires_grad.py": TRAINING_SINCE_BUILT,
    "FRZ001/ok_progressive_unfreezing.py": _and(
        "+FRZ001: progressive unfreezing: SGD gets every parameter while only `model.fc` is "
        "trainable, and `model.requires_grad_(True)` unfreezes the rest at epoch 2; at the first "
        "step the audit sees 60 frozen tensors in the optimizer, static FRZ001 is silent because "
        "of the later unfreeze",
        TRAINING_SINCE_BUILT,
    ),
    "FRZ001/ok_trainable_only_decay_groups.py": TRAINING_SINCE_BUILT,
    "FRZ001/ok_wrapper_module_filtered.py": NEVER_TRAINED,
    "FRZ001/part_held_again_with_new_layer.py": NEVER_TRAINED,
    "FRZ001/models_dict_by_task.py": NEVER_TRAINED,
    "FRZ001/ok_models_dict_by_task.py": NEVER_TRAINED,
    "FRZ001/ok_part_held_again_with_new_layer.py": NEVER_TRAINED,
    "FRZ001/param_group_of_frozen_features.py": TRAINING_SINCE_BUILT,
    "FRZ001/resnet_stages_frozen_in_main.py": TRAINING_SINCE_BUILT,
    "FRZ001/timm_effnet_reset_then_freeze_blocks.py": TRAINING_SINCE_BUILT,
    "FRZ001/timm_resnet_name_filter_freeze.py": TRAINING_SINCE_BUILT,
    "FRZ002/helper_freeze_then_classifier_item_swap.py": TRAINING_SINCE_BUILT,
    "FRZ002/ok_add_param_group_for_classifier_item.py": TRAINING_SINCE_BUILT,
    "FRZ002/torchvision_classifier_item.py": TRAINING_SINCE_BUILT,
    "FRZ003/build_model_freezes_after_swap.py": TRAINING_SINCE_BUILT,
    "FRZ003/children_loop_freeze_after_fc_swap.py": TRAINING_SINCE_BUILT,
    "FRZ003/classifier_item_then_freeze_in_main.py": NEVER_TRAINED,
    "FRZ003/effnet_pytorch_helper_freeze_in_main.py": TRAINING_SINCE_BUILT,
    "FRZ003/effnet_requires_grad_call.py": _and(
        EMPTY_OPTIMIZER,
        NEVER_TRAINED,
    ),
    "FRZ003/freeze_loop_after_fc_swap.py": NEVER_TRAINED,
    "FRZ003/helper_freezes_after_reset.py": NEVER_TRAINED,
    "FRZ003/name_filter_freezes_new_head.py": TRAINING_SINCE_BUILT,
    "FRZ003/ok_exclusive_arms_not_mixed.py": NEVER_TRAINED,
    "FRZ003/ok_freeze_backbone_modules_after_swap.py": TRAINING_SINCE_BUILT,
    "FRZ003/ok_freeze_before_swap.py": TRAINING_SINCE_BUILT,
    "FRZ003/ok_freeze_features_only.py": TRAINING_SINCE_BUILT,
    "FRZ003/ok_freeze_then_reset_classifier.py": TRAINING_SINCE_BUILT,
    "FRZ003/ok_head_reenabled.py": TRAINING_SINCE_BUILT,
    "FRZ003/ok_helper_freeze_then_head_reenabled.py": TRAINING_SINCE_BUILT,
    "FRZ003/ok_name_filter_spares_new_head.py": TRAINING_SINCE_BUILT,
    "FRZ003/timm_classifier_then_freeze_nothing_trains.py": NEVER_TRAINED,
    "FRZ004/ok_batchnorm_parameters_attribute.py": TRAINING_SINCE_BUILT,
    "FRZ004/ok_comparison_used_in_checks.py": TRAINING_SINCE_BUILT,
    "FRZ004/ok_helper_calls_requires_grad_.py": TRAINING_SINCE_BUILT,
    "FRZ004/ok_requires_grad_call.py": TRAINING_SINCE_BUILT,
    "FRZ004/ok_tensor_in_except_handler.py": NEVER_TRAINED,
    "FRZ004/ok_tensor_requires_grad_attribute.py": TRAINING_SINCE_BUILT,
    "FRZ005/dataparallel_prefix.py": _and(
        EMPTY_OPTIMIZER,
        NEVER_TRAINED,
    ),
    "FRZ005/dataparallel_startswith_freezes_head.py": NEVER_TRAINED,
    "FRZ005/fc_in_timm_efficientnet.py": NEVER_TRAINED,
    "FRZ005/ok_first_blocks.py": NEVER_TRAINED,
    "FRZ005/ok_right_names.py": NEVER_TRAINED,
    "FRZ005/ok_wrapper_prefix_included.py": NEVER_TRAINED,
    "FRZ005/regex_in_function.py": NEVER_TRAINED,
    "FRZ006/effnet_partial_unfreeze_left_out.py": TRAINING_SINCE_BUILT,
    "FRZ006/list_taken_before_head_replaced.py": _and(
        "+FRZ002 -FRZ006: `params` is listed while the first new `model._fc` is in, the second "
        "`_fc` replaces it, then `Adam(params)` is built: the optimizer holds 2 tensors the "
        "model no longer has and the model's head (2 trainable tensors) is in none. The audit "
        "sees only that and names it FRZ002 (a module replaced after the optimizer took its "
        "tensors); static knows the optimizer was built after the replacement and reports FRZ006",
        NEVER_TRAINED,
    ),
    "FRZ006/ok_backbone_frozen.py": TRAINING_SINCE_BUILT,
    "FRZ007/add_param_group_duplicate.py": DUPLICATE_REFUSED,
    "FRZ007/classifier_and_its_linear.py": _and(
        DUPLICATE_REFUSED,
        NEVER_TRAINED,
    ),
    "FRZ007/dataparallel_head_twice.py": DUPLICATE_REFUSED,
    "FRZ007/decay_split_overlaps_bn.py": DUPLICATE_REFUSED,
    "FRZ007/helper_groups_whole_plus_fc.py": DUPLICATE_REFUSED,
    "FRZ007/last_stage_inside_features_group.py": DUPLICATE_REFUSED,
    "FRZ007/layerwise_lr_rest_is_everything.py": DUPLICATE_REFUSED,
    "FRZ007/ok_dataparallel_stage_groups.py": TRAINING_SINCE_BUILT,
    "FRZ007/unfreeze_group_added_every_epoch.py": DUPLICATE_AFTER_FIRST_STEP,
    "FRZ007/ok_new_layer_group.py": TRAINING_SINCE_BUILT,
    "FRZ007/stage_inside_backbone.py": DUPLICATE_REFUSED,
    "FRZ007/trainable_filter_plus_fc_in_function.py": _and(
        DUPLICATE_REFUSED,
        NEVER_TRAINED,
    ),
    "FRZ007/whole_model_plus_head.py": DUPLICATE_REFUSED,
    "FRZ008/effnet_pytorch_blocks_and_head_conv.py": _and(
        unfrozen_before_step(
            "`model._blocks[-4:]` and `model._conv_head` (53 tensors)",
        ),
        TRAINING_SINCE_BUILT,
    ),
    "FRZ008/helper_unfreeze_in_main.py": TRAINING_SINCE_BUILT,
    "FRZ008/helper_unfreezes_last_stages.py": TRAINING_SINCE_BUILT,
    "FRZ008/ok_add_param_group_after_unfreeze.py": TRAINING_SINCE_BUILT,
    "FRZ008/ok_add_param_group_in_helper.py": TRAINING_SINCE_BUILT,
    "FRZ008/ok_frozen_stage_group_held.py": _and(
        "+FRZ001: progressive unfreezing: the `model.layer4` param group is frozen until epoch "
        "1; at the first step the audit sees its 30 frozen tensors in the optimizer, static "
        "FRZ001 is silent because of the later unfreeze",
        TRAINING_SINCE_BUILT,
    ),
    "FRZ008/ok_optimizer_before_warmup_freeze.py": _and(
        "+FRZ001: progressive unfreezing: AdamW gets every parameter, then `model.blocks` is "
        "frozen until epoch 1; at the first step the audit sees its 205 frozen tensors in the "
        "optimizer, static FRZ001 is silent because of the later unfreeze",
        TRAINING_SINCE_BUILT,
    ),
    "FRZ008/ok_optimizer_over_everything.py": _and(
        "+FRZ001: progressive unfreezing, in part: SGD gets every parameter while only "
        "`model.classifier` is trainable; `model.blocks` is unfrozen at epoch 1, but "
        "`conv_stem`, `bn1`, `conv_head` and `bn2` (6 tensors) stay frozen in the optimizer to "
        "the end; at the first step the audit sees 211 frozen tensors there, static FRZ001 is "
        "silent as soon as any of them is unfrozen later",
        TRAINING_SINCE_BUILT,
    ),
    "FRZ008/ok_optimizer_rebuilt.py": TRAINING_SINCE_BUILT,
    "FRZ008/ok_unfreeze_all_then_new_group.py": TRAINING_SINCE_BUILT,
    "FRZ008/ok_optimizer_rebuilt_by_helper.py": TRAINING_SINCE_BUILT,
    "FRZ008/ok_unfreeze_before_optimizer.py": TRAINING_SINCE_BUILT,
    "FRZ008/optimizer_from_helper_then_unfreeze.py": _and(
        unfrozen_before_step(
            "`model.layer3` (15 tensors)",
        ),
        TRAINING_SINCE_BUILT,
    ),
    "FRZ008/timm_blocks_loop_unfreeze.py": _and(
        unfrozen_before_step(
            "`model.conv_head` (1 tensor)",
        ),
        TRAINING_SINCE_BUILT,
    ),
    "FRZ008/timm_resnet_name_predicate_unfreeze.py": TRAINING_SINCE_BUILT,
    "FRZ008/timm_unfreeze_all_after_warmup.py": TRAINING_SINCE_BUILT,
    "FRZ008/unfreeze_features_torchvision.py": _and(
        unfrozen_before_step(
            "`model.features[-1]` (3 tensors)",
        ),
        TRAINING_SINCE_BUILT,
    ),
    "FRZ008/unfreeze_all_after_head_warmup.py": TRAINING_SINCE_BUILT,
    "FRZ008/unfreeze_layer4_at_epoch.py": TRAINING_SINCE_BUILT,
    "FRZ008/unfreeze_layer4_at_epoch_5.py": TRAINING_SINCE_BUILT,
    "FRZ010/add_param_group_dict_call_zero.py": TRAINING_SINCE_BUILT,
    "FRZ010/ok_frozen_instead.py": NEVER_TRAINED,
    "FRZ010/ok_warmup_raises_group_lr.py": (
        "+FRZ010: the backbone group is built with lr 0 and the loop sets it to 1e-4 at step 1: "
        "at the first step its lr is 0 (the audit's FRZ010); static sees the later assignment "
        "and is silent"
    ),
    "FRZ011/children_loop_freezes_classifier.py": NEVER_TRAINED,
    "FRZ011/comprehension_after_freeze.py": _and(
        EMPTY_OPTIMIZER_BEFORE_SWAP,
        NEVER_TRAINED,
    ),
    "FRZ011/config_dict_constructor_table.py": NEVER_TRAINED,
    "FRZ011/helper_returns_then_raises.py": NEVER_TRAINED,
    "FRZ011/enumerate_freeze_past_the_end.py": NEVER_TRAINED,
    "FRZ011/everything_frozen_timm.py": NEVER_TRAINED,
    "FRZ011/filter_before_head_swap.py": _and(
        EMPTY_OPTIMIZER_BEFORE_SWAP,
        NEVER_TRAINED,
    ),
    "FRZ011/freeze_after_fc_swap_in_main.py": _and(
        EMPTY_OPTIMIZER,
        NEVER_TRAINED,
    ),
    "FRZ011/head_frozen_in_function.py": NEVER_TRAINED,
    "FRZ011/head_prefixes_wrong_for_timm_effnet.py": _and(
        EMPTY_OPTIMIZER,
        NEVER_TRAINED,
    ),
    "FRZ011/helper_freezes_head_too.py": _and(
        EMPTY_OPTIMIZER,
        NEVER_TRAINED,
    ),
    "FRZ011/ok_children_but_last.py": TRAINING_SINCE_BUILT,
    "FRZ011/ok_fc_reenabled_in_main.py": TRAINING_SINCE_BUILT,
    "FRZ011/ok_head_reenabled_before_optimizer.py": TRAINING_SINCE_BUILT,
    "FRZ011/ok_helper_skips_head.py": TRAINING_SINCE_BUILT,
    "FRZ011/ok_new_head_after_freeze.py": TRAINING_SINCE_BUILT,
    "FRZ011/ok_old_head_optimizer_head_unfrozen_first.py": NEVER_TRAINED,
    "FRZ011/ok_progressive_from_frozen.py": _and(
        "+FRZ001: progressive unfreezing, in part: SGD gets every parameter of a frozen model, "
        "`model.fc` is unfrozen at epoch 0 (before the first step) and `model.layer4` at epoch "
        "2, while `conv1`, `bn1` and `layer1`-`layer3` (45 tensors) stay frozen in the optimizer "
        "to the end; at the first step the audit sees 60 frozen tensors there, static FRZ001 is "
        "silent as soon as any of them is unfrozen later",
        TRAINING_SINCE_BUILT,
    ),
    "FRZ011/ok_pytorch_finetuning_tutorial.py": NEVER_TRAINED,
    "FRZ011/ok_timm_classifier_prefix.py": TRAINING_SINCE_BUILT,
    "FRZ011/ok_unfreeze_last_children.py": NEVER_TRAINED,
    "FRZ011/old_head_optimizer_before_swap.py": NEVER_TRAINED,
    "FRZ011/old_head_optimizer_in_function_effnet.py": NEVER_TRAINED,
    "FRZ011/timm_new_head_frozen_too.py": NEVER_TRAINED,
    "FRZ011/trainable_list_taken_before_unfreeze.py": _and(
        EMPTY_OPTIMIZER,
        NEVER_TRAINED,
    ),
    "FRZ012/consumed_then_classifier_replaced_in_function_timm.py": _and(
        "+FRZ006 +FRZ011: the freezing loop uses up the `params` generator, so AdamW's only "
        "group is empty (the audit's FRZ011: it holds nothing) and the new `model.classifier` is "
        "trainable in no optimizer (FRZ006); static reports the used-up iterator (FRZ012) alone: "
        "the catalogue has FRZ011 give way to FRZ012, and the simulation counts a used-up "
        "iterator's group as maybe holding its parameters, so FRZ006 stays silent",
        NEVER_TRAINED,
    ),
    "FRZ012/consumed_then_head_replaced.py": NEVER_TRAINED,
    "FRZ012/consumed_then_replaced_model_rebound.py": NEVER_TRAINED,
    "FRZ012/freeze_loop_consumes.py": NEVER_TRAINED,
    "FRZ012/fstring_sum_in_main.py": NEVER_TRAINED,
    "FRZ012/group_param_iterator.py": (
        "+FRZ011: `probe` uses up the `head` generator, so AdamW's only group is empty (the "
        "audit's FRZ011: it holds nothing); static reports the used-up iterator (FRZ012), and "
        "the catalogue has FRZ011 give way to FRZ012"
    ),
    "FRZ012/head_group_iterator_reenabled.py": _and(
        "+FRZ006: the loop re-enabling `head` uses the generator up, so the optimizer's head "
        "group is empty and `model.classifier[1]` (2 trainable tensors) is in no param group at "
        "the first step (the audit's FRZ006); static reports the used-up iterator (FRZ012) and "
        "counts a used-up iterator's group as maybe holding its parameters, so FRZ006 stays "
        "silent",
        TRAINING_SINCE_BUILT,
    ),
    "FRZ012/helper_counts_params.py": NEVER_TRAINED,
    "FRZ012/in_function_list_call.py": NEVER_TRAINED,
    "FRZ012/named_generator_after_logging.py": NEVER_TRAINED,
    "FRZ012/named_iterator_logged_then_filtered.py": NEVER_TRAINED,
    "FRZ012/ok_generator_passed_once.py": NEVER_TRAINED,
    "FRZ012/ok_helper_returns_fresh_generator.py": TRAINING_SINCE_BUILT,
    "FRZ012/ok_list_counted_in_main.py": TRAINING_SINCE_BUILT,
    "FRZ012/ok_other_generator_consumed.py": TRAINING_SINCE_BUILT,
    "FRZ012/ok_tuple_logged_twice.py": TRAINING_SINCE_BUILT,
    "FRZ013/ok_guarded_parse.py": NEVER_TRAINED,
    "FRZ013/ok_isdigit_guard.py": NEVER_TRAINED,
    "FRZ013/ok_prefix_checked_through_a_variable.py": NEVER_TRAINED,
    "FRZ015/efficientformer_head_in_method.py": TRAINING_SINCE_BUILT,
    "FRZ015/effnet_first_blocks_in_function.py": TRAINING_SINCE_BUILT,
    "FRZ015/effnet_head_bn_unfrozen.py": TRAINING_SINCE_BUILT,
    "FRZ015/fc_not_in_name_timm_seresnet.py": TRAINING_SINCE_BUILT,
    "FRZ015/ok_head_and_se_meant.py": TRAINING_SINCE_BUILT,
    "FRZ015/ok_resnet_layer4_fc_and_bn.py": TRAINING_SINCE_BUILT,
    "FRZ015/regnet_fc_also_keeps_se_layers.py": NEVER_TRAINED,
    "FRZ015/resnet_stem_keys_in_helper.py": TRAINING_SINCE_BUILT,
    "FRZ016/effnet_apply_if_else.py": TRAINING_SINCE_BUILT,
    "FRZ016/effnet_helper_keeps_fc_by_name.py": _and(
        EMPTY_OPTIMIZER,
        NEVER_TRAINED,
    ),
    "FRZ016/ok_batchnorm_only.py": TRAINING_SINCE_BUILT,
    "FRZ016/ok_batchnorm_still_trainable_only.py": TRAINING_SINCE_BUILT,
    "FRZ016/ok_kind_not_in_model.py": TRAINING_SINCE_BUILT,
    "FRZ016/ok_named_blocks_listed.py": TRAINING_SINCE_BUILT,
    "FRZ016/ok_named_children_but_fc.py": TRAINING_SINCE_BUILT,
    "FRZ016/resnet_children_keep_bn.py": TRAINING_SINCE_BUILT,
    "FRZ016/timm_effnet_bn_act_params_loop.py": TRAINING_SINCE_BUILT,
    "FRZ016/timm_vit_layernorm_tuning.py": EMPTY_OPTIMIZER,
    "FRZ016/timm_wrapper_freeze_method.py": NEVER_TRAINED,
    "FRZ017/effnet_pytorch_linearlr_warmup.py": after_first_step(
        "-FRZ017",
        "`optimizer.add_param_group` on the LinearLR-scheduled optimizer runs at epoch 1",
    ),
    "FRZ017/helper_adds_group_warm_restarts.py": after_first_step(
        "-FRZ017",
        "`unfreeze_features` adds a param group to the CosineAnnealingWarmRestarts-scheduled "
        "optimizer at epoch 1",
    ),
    "FRZ017/timm_onecycle_in_trainer.py": after_first_step(
        "-FRZ017",
        "`Trainer.unfreeze` adds a param group to the OneCycleLR-scheduled optimizer at epoch 1",
    ),
    "FRZ017/torchvision_lambdalr_unfreeze_epoch.py": after_first_step(
        "-FRZ017",
        "`optimizer.add_param_group` on the LambdaLR-scheduled optimizer runs at epoch 2",
    ),
    "FRZ018/effnet_pytorch_trainer_method.py": TRAINING_SINCE_BUILT,
    "FRZ018/mobilenet_features_unfreeze_tail.py": TRAINING_SINCE_BUILT,
    "FRZ018/ok_features_blocks_sequential.py": NEVER_TRAINED,
    "FRZ018/ok_resnet_stem_and_layer1.py": TRAINING_SINCE_BUILT,
    "FRZ018/ok_split_block_frozen_whole.py": TRAINING_SINCE_BUILT,
    "FRZ018/ok_timm_all_but_head.py": TRAINING_SINCE_BUILT,
    "FRZ018/ok_wrapper_backbone_stages.py": NEVER_TRAINED,
    "FRZ018/regnet_break_in_function.py": TRAINING_SINCE_BUILT,
    "FRZ018/resnet_enumerate_if_else.py": TRAINING_SINCE_BUILT,
    "FRZ018/timm_effnet_slice_in_helper.py": TRAINING_SINCE_BUILT,
    "FRZ018/wrapper_backbone_slice.py": TRAINING_SINCE_BUILT,
    "FRZ019/effnet_pytorch_helper_rebuilds_optimizer.py": after_first_step(
        "-FRZ019",
        "the optimizer is rebuilt (`make_optimizer`) at epoch 1 while the ExponentialLR keeps "
        "the old one",
    ),
    "FRZ019/function_multistep_in_train.py": after_first_step(
        "-FRZ019",
        "`optimizer` is rebound to a new SGD at epoch 1 while the MultiStepLR keeps the old one",
    ),
    "FRZ019/timm_trainer_two_phase.py": after_first_step(
        "-FRZ019",
        "`self.optimizer` is rebound to a new AdamW at epoch 2 (`unfreeze_at`) while the "
        "CosineAnnealingLR keeps the old one",
    ),
    "FRZ019/torchvision_new_optimizer_at_unfreeze.py": after_first_step(
        "-FRZ019",
        "`optimizer` is rebound to a new SGD at epoch 2 while the StepLR keeps the old one",
    ),
    "FRZ001/enumerate_children_first_k.py": TRAINING_SINCE_BUILT,
    "FRZ001/enumerate_features_blocks.py": TRAINING_SINCE_BUILT,
    "FRZ001/ok_enumerate_children_first_k.py": TRAINING_SINCE_BUILT,
    "FRZ001/ok_enumerate_features_blocks.py": TRAINING_SINCE_BUILT,
    "FRZ001/ok_isinstance_own_wrapper_class.py": TRAINING_SINCE_BUILT,
    "FRZ001/ok_part_is_a_library_submodule.py": TRAINING_SINCE_BUILT,
    "FRZ001/ok_stage_number_regex_group.py": TRAINING_SINCE_BUILT,
    "FRZ001/ok_unwrap_dataparallel_by_isinstance.py": TRAINING_SINCE_BUILT,
    "FRZ001/part_is_a_library_submodule.py": TRAINING_SINCE_BUILT,
    "FRZ001/stage_number_regex_group.py": TRAINING_SINCE_BUILT,
    "FRZ001/stage_numbers_any_range.py": TRAINING_SINCE_BUILT,
    "FRZ001/unwrap_dataparallel_by_isinstance.py": TRAINING_SINCE_BUILT,
    "FRZ006/ok_children_counter_freezes_backbone.py": TRAINING_SINCE_BUILT,
    "FRZ006/ok_part_named_at_run_time.py": TRAINING_SINCE_BUILT,
}


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    """The oracle's reports on every fixture script."""
    found = run_oracle(list(map(str, SCRIPTS)), "--audit-only")
    return {name(Path(script)): report for script, report in found.items()}


def name(script: Path) -> str:
    return str(script.relative_to(FIXTURES))


def differences(reason: str) -> set[str]:
    lines = re.findall(r"^((?:[+-]FRZ\d{3} )*[+-]FRZ\d{3}): ", reason, re.MULTILINE)
    assert len(lines) == reason.count("\n") + 1, f"every line starts with its codes: {reason}"
    return {code for line in lines for code in line.split()}


@pytest.mark.parametrize("script", SCRIPTS, ids=name)
def test_audit_agrees_with_the_static_check(script: Path, reports: dict[str, dict]) -> None:
    report = reports[name(script)]
    if report["audit"] is None:
        pytest.skip(
            f"raises before building a model: {report['error']}"
            if report["error"]
            else "builds no model through timm, torchvision or efficientnet-pytorch (the loaders "
            "the oracle records)"
        )
    static = {line.split(" ")[1] for line in read_expected(script)} & AUDITED
    audit = set(report["audit"])
    differ = {f"+{c}" for c in audit - static} | {f"-{c}" for c in static - audit}
    reason = KNOWN.get(name(script))
    if reason is None:
        assert not differ, (
            f"the audit finds {sorted(audit)}, static reports {sorted(static)} (of those the audit "
            f"can see): fix the side that is wrong, or add the reason to KNOWN"
        )
        return
    assert differ, "the audit and the static check agree now: drop the entry from KNOWN"
    assert differ == differences(reason), f"they differ in {sorted(differ)}, not as KNOWN says"
    source = script.read_text(encoding="utf-8")
    if TRAINING_SINCE_BUILT in reason or NEVER_TRAINED in reason:
        assert not re.search(r"\.(train|eval)\(", source), "it calls `.train()` or `.eval()`"
        steps = TRAINING_SINCE_BUILT in reason
        assert report["stepped"] is steps, f"it {'never steps' if steps else 'steps'}"
    for kind, error in ERRORS.items():
        if kind in reason:
            assert (report["error"] or "").startswith(error), f"it raised {report['error']}"


def test_known_names_fixtures() -> None:
    assert sorted(set(KNOWN) - {name(s) for s in SCRIPTS}) == []
