"""keras-fcn: dense networks and LeNet-5 on Fashion-MNIST and MNIST, studied and tuned in Keras 3."""

__version__ = "0.1.0"
