"""The P-FID / P-IS classifier, PointNet++ SSG (the reference's evals/pointnet2_cls_ssg.get_model
with num_class 40, xyz only, width_mult 2), in PyTorch for training the demo set's (issue 35).

The network pointe runs (Sources/PointEModels/PointNetClassifier.swift, PointNetSetAbstraction.swift,
PointNetSampling.swift), written from the reference's behaviour: three set abstractions (farthest
point sampling, ball query, shared 1x1-conv MLP with BatchNorm and ReLU, max-pool), then
fc1-bn1-relu-dropout, fc2-bn2 (the P-FID features), relu-dropout, fc3, log_softmax. Same module
names as the released `pointnet` checkpoint.

Farthest point sampling starts, per cloud, at its position in the batch in eval mode (what P-FID
/ P-IS use; pointe's FPSStart.batchPosition) and at a random point in training mode (from the
generator passed in, so training is reproducible). Squared distances for the ball query use the
reference's expansion -2 c.p + |c|^2 + |p|^2, which decides points on the sphere's boundary.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 40  # ModelNet40's, fixed by the released checkpoint and pointe's evaluator
WIDTH_MULT = 2


def farthest_point_sample(xyz: torch.Tensor, npoint: int, start: torch.Tensor) -> torch.Tensor:
    """xyz [B, N, 3], start [B] -> indices [B, npoint]; the first of equal maxima wins."""
    b, n, _ = xyz.shape
    rows = torch.arange(b)
    chosen = torch.zeros(b, npoint, dtype=torch.long)
    distance = torch.full((b, n), 1e10)
    farthest = start
    for i in range(npoint):
        chosen[:, i] = farthest
        centre = xyz[rows, farthest][:, None, :]
        distance = torch.minimum(distance, ((xyz - centre) ** 2).sum(-1))
        farthest = distance.argmax(-1)
    return chosen


def ball_query(radius: float, nsample: int, xyz: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """The first `nsample` point indices (ascending) within `radius` of each centre, padded with
    the first found: [B, S, nsample]."""
    b, n, _ = xyz.shape
    d = -2 * torch.matmul(centres, xyz.transpose(1, 2))
    d = d + (centres ** 2).sum(-1)[:, :, None]
    d = d + (xyz ** 2).sum(-1)[:, None, :]
    idx = torch.arange(n).expand(b, centres.shape[1], n).clone()
    idx[d > radius ** 2] = n
    idx = idx.sort(dim=-1)[0][:, :, :nsample]
    first = idx[:, :, :1].expand_as(idx)
    return torch.where(idx == n, first, idx)


def gather(points: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """points [B, N, C], idx [B, ...] -> [B, ..., C]."""
    b = points.shape[0]
    flat = idx.reshape(b, -1)
    out = torch.gather(points, 1, flat[:, :, None].expand(-1, -1, points.shape[-1]))
    return out.reshape(*idx.shape, points.shape[-1])


class SetAbstraction(nn.Module):
    def __init__(self, npoint: Optional[int], radius: Optional[float], nsample: Optional[int], in_channels: int, mlp: List[int]):
        super().__init__()
        self.npoint, self.radius, self.nsample = npoint, radius, nsample
        self.mlp_convs = nn.ModuleList()
        self.mlp_bns = nn.ModuleList()
        last = in_channels
        for width in mlp:
            self.mlp_convs.append(nn.Conv2d(last, width, 1))
            self.mlp_bns.append(nn.BatchNorm2d(width))
            last = width
        self.last_fps: Optional[torch.Tensor] = None
        self.last_ball: Optional[torch.Tensor] = None

    def forward(self, xyz: torch.Tensor, features: Optional[torch.Tensor], start: Optional[torch.Tensor]
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """xyz [B, N, 3], features [B, N, D] or None -> centres [B, S, 3], features [B, S, D']."""
        b, n, _ = xyz.shape
        if self.npoint is None:  # group all: one group around the origin, coordinates as they are
            centres = torch.zeros(b, 1, 3)
            grouped = xyz[:, None]
            if features is not None:
                grouped = torch.cat([grouped, features[:, None]], dim=-1)
        else:
            fps = farthest_point_sample(xyz, self.npoint, start)
            centres = gather(xyz, fps)
            ball = ball_query(self.radius, self.nsample, xyz, centres)
            self.last_fps, self.last_ball = fps, ball
            grouped = gather(xyz, ball) - centres[:, :, None, :]
            if features is not None:
                grouped = torch.cat([grouped, gather(features, ball)], dim=-1)
        h = grouped.permute(0, 3, 2, 1)  # [B, C, members, groups], the reference's layout
        for conv, bn in zip(self.mlp_convs, self.mlp_bns):
            h = F.relu(bn(conv(h)))
        return centres, h.max(dim=2)[0].transpose(1, 2)


class PointNet2Classifier(nn.Module):
    def __init__(self, num_class: int = NUM_CLASSES, width_mult: int = WIDTH_MULT):
        super().__init__()
        w = width_mult
        self.width_mult = w
        self.sa1 = SetAbstraction(512, 0.2, 32, 3, [64 * w, 64 * w, 128 * w])
        self.sa2 = SetAbstraction(128, 0.4, 64, 128 * w + 3, [128 * w, 128 * w, 256 * w])
        self.sa3 = SetAbstraction(None, None, None, 256 * w + 3, [256 * w, 512 * w, 1024 * w])
        self.fc1 = nn.Linear(1024 * w, 512 * w)
        self.bn1 = nn.BatchNorm1d(512 * w)
        self.drop1 = nn.Dropout(0.4)
        self.fc2 = nn.Linear(512 * w, 256 * w)
        self.bn2 = nn.BatchNorm1d(256 * w)
        self.drop2 = nn.Dropout(0.4)
        self.fc3 = nn.Linear(256 * w, num_class)

    def starts(self, b: int, n: int, generator: Optional[torch.Generator]) -> torch.Tensor:
        if self.training:
            return torch.randint(0, n, (b,), generator=generator)
        return torch.arange(b) % n

    def forward(self, clouds: torch.Tensor, generator: Optional[torch.Generator] = None
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """clouds [B, 3, N] (normalised) -> (log_probs [B, classes], global feature [B, 1024w, 1],
        P-FID features [B, 256w])."""
        xyz = clouds.transpose(1, 2)
        b, n, _ = xyz.shape
        self.fps_starts = [self.starts(b, n, generator), self.starts(b, self.sa1.npoint, generator)]
        l1_xyz, l1 = self.sa1(xyz, None, self.fps_starts[0])
        l2_xyz, l2 = self.sa2(l1_xyz, l1, self.fps_starts[1])
        _, l3 = self.sa3(l2_xyz, l2, None)
        x = l3.reshape(b, -1)
        x = self.drop1(F.relu(self.bn1(self.fc1(x))))
        features = self.bn2(self.fc2(x))
        x = self.fc3(self.drop2(F.relu(features)))
        return F.log_softmax(x, -1), l3.transpose(1, 2), features


def normalize_clouds(clouds: torch.Tensor) -> torch.Tensor:
    """The evaluator's normalisation of raw clouds [B, N, 3]: minus each cloud's mean, divided by
    its largest point norm."""
    centred = clouds - clouds.mean(dim=1, keepdim=True)
    return centred / centred.norm(dim=-1, keepdim=True).max(dim=1, keepdim=True)[0]
