"""The dense-network studies re-run by ``python -m experiments.reproduce``.

Each :class:`~keras_fcn.protocol.Protocol` states the study's protocol as its report gives
it, and fills each gap with a stated choice (``notes``). Their tables' rows and published
values are in ``experiments/published/``. The LeNet-5 study is declared in ``cnn``.
"""

from __future__ import annotations

from keras_fcn.protocol import Protocol, TableSpec

# The PyTorch studies' "default" initialization is PyTorch's nn.Linear default.
PYTORCH_DEFAULT = {"initializer": {"default": "pytorch"}}

# The note of every study that does not say how it scaled its inputs.
UNSTATED_SCALING = (
    "the input scaling is not stated: inputs standardized as (x - 0.5) / 0.5, "
    "the dense family's default"
)

CHENAB = Protocol(
    name="chenab",
    source="Chenab, 'Hyperparameter tuning of fully connected neural networks for robust image classification' (2025)",
    family="dense",
    published="chenab.csv",
    base={"initializer": "pytorch"},
    aliases=PYTORCH_DEFAULT,
    tables=(
        TableSpec("baseline", "Baseline: 784-512-256-10, SGD at 0.01, 50 epochs (Table 1)"),
        TableSpec("optimizer_lr", "Optimizer x learning rate, the rest as the baseline (Table 2)"),
        TableSpec("dropout", "Dropout on the baseline (Table 3A)"),
        TableSpec("init", "Weight initialization on the baseline (Table 3B)"),
        TableSpec("batch_norm", "Batch normalization on the baseline (Section 4)"),
        TableSpec("final", "Final configuration (Table 4)"),
        TableSpec("mnist_final", "Final configuration on MNIST (Section 5)"),
        TableSpec("knn", "KNN with 5 neighbours (Section 5)", baseline="knn-5"),
    ),
    notes=(
        "10 % random validation split, batch 512, validation batch 256, as the report states",
        "'Default' initialization is PyTorch's nn.Linear default (initializer=pytorch)",
        UNSTATED_SCALING,
        "the final model's hidden sizes are not stated: the baseline's 512-256 is used",
        "validation accuracy here is the best epoch's; the report does not say which epoch it quotes",
    ),
)

LYBBERT = Protocol(
    name="lybbert",
    source="Lybbert, 'AMATH 582 homework 4' (2025)",
    family="dense",
    published="lybbert.csv",
    base={"hidden": (1024, 256), "epochs": 30, "optimizer": "adam", "learning_rate": 0.001},
    tables=(
        TableSpec("table1", "Three initializations with batch normalization (Table 1)"),
        TableSpec("table2", "The same without batch normalization (Table 2)"),
    ),
    grid="lybbert.toml",
    notes=(
        "batch size and validation split are not stated: batch 512 and a 10 % random split are used",
        "the momentum of the table rows is not stated: Keras's default for Adam (beta_1 0.9)",
        UNSTATED_SCALING,
        "'Xavier' and 'Kaiming' are the grid's xavier_uniform and kaiming_uniform",
        "--grid runs the full grid (or --max-runs of it, sampled with --grid-seed)",
    ),
)

HIPPE = Protocol(
    name="hippe",
    source="Hippe, 'AMATH 482/582 homework 4' (2025)",
    family="dense",
    published="hippe.csv",
    base={
        "hidden": (500, 50),
        "optimizer": "sgd",
        "learning_rate": 0.1,
        "epochs": 15,
        "initializer": "pytorch",
    },
    aliases=PYTORCH_DEFAULT,
    tables=(
        TableSpec(
            "table1", "Optimizers, learning rates, dropout, initializations, batch norm (Table 1)"
        ),
        TableSpec("final", "Final configuration (Section 4)"),
        TableSpec("mnist_final", "Final configuration on MNIST (Section 4)"),
        TableSpec(
            "svd",
            "SVD classifier of the previous assignment (Section 4)",
            baseline="nearest_subspace",
        ),
    ),
    notes=(
        "batch size and validation split are not stated: batch 512 and a 10 % random split are used",
        "the final model's epochs are not stated: the baseline's 15 are used",
        UNSTATED_SCALING,
        "Table 1 is captioned as validation accuracy, so it is compared with ours on validation",
    ),
)

KONYCHEVA = Protocol(
    name="konycheva",
    source="Konycheva, 'Hyperparameter tuning of neural networks using PyTorch: a comparative study on FashionMNIST' (2025)",
    family="dense",
    published="konycheva.csv",
    base={
        "optimizer": "sgd",
        "learning_rate": 0.01,
        "epochs": 20,
        "batch_size": 64,
        "patience": 3,
        "standardize": True,
        "initializer": "pytorch",
    },  # fmt: skip
    aliases=PYTORCH_DEFAULT,
    tables=(
        TableSpec(
            "topology",
            "Topologies T1-T5 with SGD at 0.01 (Table I)",
            varies=("hidden",),
            carry=("hidden",),
        ),
        TableSpec(
            "optimizer",
            "Optimizers on the best topology (Table II)",
            varies=("optimizer",),
            carry=("optimizer",),
        ),
        TableSpec(
            "learning_rate",
            "Learning rates with the best optimizer (Table III)",
            varies=("learning_rate",),
            carry=("learning_rate",),
        ),
        TableSpec(
            "activation",
            "Activations with the best learning rate (Table IV)",
            varies=("activation",),
            carry=("activation",),
        ),
        TableSpec("final", "The configuration chosen stage by stage (Section III-E)", varies=()),
    ),
    notes=(
        "each stage keeps the best setting of the one before, chosen here on validation accuracy; "
        "the report early-stopped and chose on the test set",
        "early stopping (patience 3, at most 20 epochs) watches a 10 % random validation split",
        "inputs standardized with mean 0.5 and std 0.5, batch 64, as the report states",
    ),
)

DENSE_L2 = Protocol(
    name="dense-l2",
    source="Part 1 of an unsigned report: a Keras dense network with L2 regularization on Fashion-MNIST",
    family="dense",
    published="dense_l2.csv",
    base={
        "hidden": (300, 200),
        "l2": 1e-4,
        "optimizer": "adam",
        "learning_rate": 1e-4,
        "epochs": 15,
        "batch_size": 32,
        "validation": 5000,
        "standardize": False,
    },  # fmt: skip
    tables=(TableSpec("final", "The report's dense model, 300-200 with L2 1e-4 (Section V)"),),
    notes=(
        "first 5,000 training images as validation, batch 32 (Keras's default), as in the report's code",
        "inputs in [0, 1] (pixels divided by 255), as in the report's code",
        "the code uses ReLU although the text says tanh was chosen; ReLU is run",
    ),
)

DENSE_PROTOCOLS = {p.name: p for p in (CHENAB, LYBBERT, HIPPE, KONYCHEVA, DENSE_L2)}
