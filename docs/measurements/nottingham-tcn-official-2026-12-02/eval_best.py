# eval_best.py — the official poly_music evaluation of a checkpoint that train.py saved
# (torch.save of the whole model at its best validation loss), on train, valid and test.
#   PYTHONPATH=<official-seq-u-net> python3 eval_best.py model_Nott_<name>.pt Nott
import sys

import torch
import torch.nn as nn

from utils import data_generator

torch.set_num_threads(1)
model = torch.load(sys.argv[1])
X_train, X_valid, X_test = data_generator(sys.argv[2])
criterion = nn.BCEWithLogitsLoss(reduction="sum")
model.eval()
for name, X in (("train", X_train), ("valid", X_valid), ("test", X_test)):
    total, count = 0.0, 0
    with torch.no_grad():
        for line in X:
            out = model(line[:-1].unsqueeze(0)).squeeze(0)
            total += criterion(out, line[1:]).item()
            count += out.size(0)
    print("%s NLL: %.4f" % (name, total / count), flush=True)
