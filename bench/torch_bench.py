"""The PyTorch side of striate's benchmark (`striate bench --torch PYTHON`).

Times the same rows as striate on the same synthetic data shapes, with the
same thread count, and prints one `RESULT key=value ...` line per row that
`striate bench` parses. Models M1-M3 are the course models; M4 is
torchvision's ResNet-18 and M5 its ResNet-34 (1-channel stem, 2 classes),
written out here so that torchvision is not needed. Versions: bench/requirements.txt.

Usage: python torch_bench.py ROW [--epochs 3] [--threads 2] [--smoke]
ROW: m1 | m2 | m3 | m3b256 | m4 | m5
"""
import argparse
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class JetCnn(nn.Module):  # M1: 1x20x20, 3,505 parameters
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 5, 5)
        self.conv2 = nn.Conv2d(5, 10, 5)
        self.fc = nn.ModuleList([nn.Linear(a, b) for a, b in [(40, 30), (30, 20), (20, 10), (10, 5)]])

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        for fc in self.fc[:-1]:
            x = F.relu(fc(x))
        return self.fc[-1](x)


class FashionConvNet(nn.Module):  # M2: 1x28x28, 225,034 parameters, no ReLU after the convs
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(1600, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(self.conv1(x), 2)
        x = F.max_pool2d(self.conv2(x), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


class LeNet5(nn.Module):  # M3: 1x32x32, 61,706 parameters
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):  # torchvision's basic-block ResNet(num_classes=2) with a 1-channel stem
    def __init__(self, layers, classes=2):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks, c = [], 64
        for i, (f, nblocks) in enumerate(zip([64, 128, 256, 512], layers)):
            for b in range(nblocks):
                blocks.append(BasicBlock(c, f, 2 if i > 0 and b == 0 else 1))
                c = f
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def resnet18():  # M4
    return ResNet([2, 2, 2, 2])


def resnet34():  # M5
    return ResNet([3, 4, 6, 3])


# row -> (model, hw, samples, batch, classes, optimizer, lr, training, inference);
# the same table is in src/bin/striate/bench.rs. training: "epochs" (median
# epoch after a warm-up epoch) or "steps" (median step after two warm-up
# steps); inference: None, ("batch", b) (median pass of one batch of b) or
# ("throughput", b) (images/s in batches of b, and batch-1 latency).
ROWS = {
    "m1": (JetCnn, 20, 80_000, 1000, 5, "adam", 0.03, "epochs", ("throughput", 1000)),
    "m2": (FashionConvNet, 28, 60_000, 512, 10, "sgd", 0.1, "epochs", None),
    "m3": (LeNet5, 32, 60_000, 32, 10, "adam", 1e-3, "epochs", None),
    "m3b256": (LeNet5, 32, 60_000, 256, 10, "adam", 1e-3, "epochs", None),
    "m4": (resnet18, 40, 128 * 12, 128, 2, "adam", 1e-3, "steps", ("batch", 128)),
    "m5": (resnet34, 40, 128 * 8, 128, 2, "adam", 1e-3, "steps", ("batch", 128)),
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("row", choices=sorted(ROWS))
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--smoke", action="store_true", help="a tenth of the samples, one timed epoch")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    ctor, hw, n, batch, classes, opt_name, lr, training, inference = ROWS[a.row]
    if a.smoke:
        n, a.epochs = max(n // 10, 4 * batch), 1
    model = ctor()
    g = torch.Generator().manual_seed(0)
    nb = n // batch
    x_all = torch.rand(nb * batch, 1, hw, hw, generator=g)
    y_all = torch.randint(0, classes, (nb * batch,), generator=g)
    batches = list(zip(x_all.split(batch), y_all.split(batch)))
    if opt_name == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    model.train()
    if training == "steps":
        for x, y in batches[:2]:
            step(x, y)
        ts = []
        for x, y in batches[2:]:
            t0 = time.perf_counter()
            step(x, y)
            ts.append(time.perf_counter() - t0)
        out["train_step_s"] = statistics.median(ts)
    else:
        ts = []
        for epoch in range(a.epochs + 1):  # epoch 0 is the warm-up
            t0 = time.perf_counter()
            for x, y in batches:
                step(x, y)
            if epoch > 0:
                ts.append(time.perf_counter() - t0)
        out["train_epoch_s"] = statistics.median(ts)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    model.eval()
    with torch.inference_mode():
        kind, infer_batch = inference or (None, 0)
        if kind == "batch":
            x = torch.rand(infer_batch, 1, hw, hw, generator=g)
            for _ in range(2):
                model(x)
            ts = []
            for _ in range(3 if a.smoke else 10):
                t0 = time.perf_counter()
                model(x)
                ts.append(time.perf_counter() - t0)
            out["infer_batch_s"] = statistics.median(ts)
        elif kind == "throughput":
            chunks = torch.rand(n, 1, hw, hw, generator=g).split(infer_batch)
            ts = []
            for rep in range(4):
                t0 = time.perf_counter()
                for x in chunks:
                    model(x)
                if rep > 0:
                    ts.append(time.perf_counter() - t0)
            out["infer_img_per_s"] = n / statistics.median(ts)
            x1 = torch.rand(1, 1, hw, hw, generator=g)
            lat = []
            for i in range(1100 if not a.smoke else 150):
                t0 = time.perf_counter()
                model(x1).numpy()
                if i >= 100:
                    lat.append(time.perf_counter() - t0)
            out["latency_us"] = statistics.median(lat) * 1e6
    print("RESULT " + " ".join(f"{k}={v}" for k, v in out.items()), flush=True)


if __name__ == "__main__":
    main()
