"""What every stage that runs a model shares, whatever it does with it: the device,
checkpoints on disk, inference (`predict`, loss and accuracy), and a trained variant
loaded with its data. train/, evaluate/, explain/ and the `cnnlab` command all call
it; it calls none of them."""
