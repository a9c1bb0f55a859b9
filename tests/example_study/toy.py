"""A made-up study, to show how one is declared: two optimizers, then dropout on the better."""

from keras_fcn.replication import Protocol, TableSpec

PROTOCOL = Protocol(
    name="toy",
    source="A made-up report: a dense network of 64 units on Fashion-MNIST",
    family="dense",
    published="toy.csv",
    base={"hidden": (64,), "epochs": 5},
    tables=(
        TableSpec("optimizer", "SGD against Adam (Table 1)", carry=("optimizer", "learning_rate")),
        TableSpec("dropout", "Dropout on the better optimizer (Table 2)"),
    ),
    notes=("the validation split is not stated: a 10 % random split is used",),
)
