import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF

from cnnlab.data.augment import (
    adjust_colors,
    crop_at,
    cutout,
    random_crop,
    random_hflip,
    random_resized_crop,
    resized_crop_at,
)
from cnnlab.data.loader import BatchLoader, Normalizer
from cnnlab.params import AugmentParams
from tests.conftest import synthetic_set


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def batch_of_one_image(n=64, c=3, size=10):
    image = torch.rand(c, size, size, generator=gen(1))
    return image, image.expand(n, -1, -1, -1).clone()


def test_hflip_is_drawn_per_sample():
    image, batch = batch_of_one_image()
    out = random_hflip(batch, gen())
    flipped = torch.tensor([torch.equal(o, image.flip(-1)) for o in out])
    kept = torch.tensor([torch.equal(o, image) for o in out])
    assert torch.all(flipped | kept)
    assert 10 < int(flipped.sum()) < 54  # both outcomes, near half


def test_crop_matches_torchvision_pad_then_crop():
    x = torch.rand(6, 3, 8, 8, generator=gen(2))
    top = torch.tensor([0, 1, 4, 8, 3, 2])
    left = torch.tensor([8, 0, 4, 2, 3, 7])
    ours = crop_at(x, 4, top, left)
    for i in range(6):
        ref = TF.crop(TF.pad(x[i], [4]), int(top[i]), int(left[i]), 8, 8)
        assert torch.equal(ours[i], ref)


def test_random_crop_offsets_differ_across_the_batch():
    _, batch = batch_of_one_image(n=32)
    out = random_crop(batch, 3, gen())
    assert out.shape == batch.shape
    assert len({o.sum().item() for o in out}) > 5


def test_colour_adjustments_match_torchvision_per_sample():
    x = torch.rand(5, 3, 7, 7, generator=gen(4))
    b = torch.tensor([0.8, 1.2, 1.0, 0.9, 1.1])
    c = torch.tensor([1.1, 0.7, 1.3, 1.0, 0.95])
    s = torch.tensor([0.6, 1.4, 1.0, 0.8, 1.2])
    ours = adjust_colors(x, b, c, s)
    for i in range(5):
        ref = TF.adjust_saturation(TF.adjust_contrast(TF.adjust_brightness(x[i], float(b[i])), float(c[i])),
                                   float(s[i]))
        torch.testing.assert_close(ours[i], ref, atol=1e-5, rtol=0)


def test_cutout_fills_one_clipped_square_per_image_at_different_places():
    x = torch.ones(40, 1, 12, 12)
    out = cutout(x, 4, gen(), fill=0.0)
    holes = (out == 0).float().sum(dim=(1, 2, 3))
    assert torch.all((holes >= 4) & (holes <= 16))  # 2x2 at a corner up to the full 4x4
    assert len({tuple(torch.nonzero(o[0] == 0)[0].tolist()) for o in out}) > 10


def make_loader(augment=None, shuffle=False, seed=0):
    data = synthetic_set(n_per_class=10, classes=3, size=8)
    norm = Normalizer([0.2, 0.3, 0.4], [0.5, 0.5, 0.5])
    return data, BatchLoader(data.images, data.labels, 7, norm, shuffle=shuffle, augment=augment, seed=seed)


def test_evaluation_batches_are_the_stored_pixels_normalised_in_order():
    data, loader = make_loader(augment=None)
    x = torch.cat([b for b, _ in loader])
    y = torch.cat([labels for _, labels in loader])
    expected = (data.images.float() / 255 - torch.tensor([0.2, 0.3, 0.4]).view(1, 3, 1, 1)) / 0.5
    torch.testing.assert_close(x, expected)
    assert torch.equal(y, data.labels)


AUG = AugmentParams(hflip=True, crop_padding=2, color_jitter=0.3, cutout=3)


def test_training_batches_are_augmented_shuffled_and_reproducible():
    data, plain = make_loader(augment=None, shuffle=True, seed=5)
    _, augmented = make_loader(augment=AUG, shuffle=True, seed=5)
    (xp, yp), (xa, ya) = next(iter(plain)), next(iter(augmented))
    assert not torch.equal(xp, xa)
    assert torch.equal(yp, ya)  # augmentation changes pixels, not which images come in which order
    assert not torch.equal(yp, data.labels[:7])  # shuffled
    _, again = make_loader(augment=AUG, shuffle=True, seed=5)
    assert torch.equal(next(iter(again))[0], xa)
    # a new epoch draws new augmentations and a new order
    batches = [b for b, _ in augmented]
    assert not torch.equal(torch.cat(batches)[:7], xa)


def test_an_inactive_augment_block_means_no_augmentation():
    data, loader = make_loader(augment=AugmentParams(), shuffle=False)
    _, plain = make_loader(augment=None)
    assert all(torch.equal(a, b) for (a, _), (b, _) in zip(loader, plain, strict=True))


@pytest.mark.parametrize("n, batch, shuffle, expected", [(21, 7, True, 3), (22, 7, True, 3), (22, 7, False, 4)])
def test_a_training_tail_of_one_is_dropped_for_batchnorm(n, batch, shuffle, expected):
    x = torch.zeros((n, 1, 2, 2), dtype=torch.uint8)
    loader = BatchLoader(x, torch.zeros(n, dtype=torch.int64), batch, Normalizer([0.0], [1.0]), shuffle=shuffle)
    assert len(loader) == expected == len(list(loader))


def test_resized_crop_samples_like_torchvisions_resized_crop():
    """The same bilinear samples, except next to the box's edges, where torchvision (which
    crops first) repeats the edge pixel and cnnlab reads the image's real neighbour."""
    x = torch.rand(4, 3, 20, 20, generator=gen(7))
    boxes = [(0, 0, 20, 20), (2, 3, 14, 11), (5, 0, 20, 8), (1, 1, 7, 19)]  # x0, y0, x1, y1
    ours = resized_crop_at(x, torch.tensor(boxes, dtype=torch.float32))

    def inside(length):  # output positions whose sample lies between the box's first and last pixel
        source = (torch.arange(20) + 0.5) * length / 20 - 0.5
        return (source >= 0) & (source <= length - 1)

    for i, (x0, y0, x1, y1) in enumerate(boxes):
        ref = TF.resized_crop(x[i], y0, x0, y1 - y0, x1 - x0, [20, 20], antialias=False)
        rows, cols = inside(y1 - y0), inside(x1 - x0)
        assert rows.sum() >= 14 and cols.sum() >= 14
        torch.testing.assert_close(ours[i][:, rows][:, :, cols], ref[:, rows][:, :, cols], atol=1e-5, rtol=0)


def test_random_resized_crops_differ_per_image_and_scale_one_keeps_the_image():
    _, batch = batch_of_one_image(n=16, size=16)
    whole = random_resized_crop(batch, 1.0, gen(), ratio=(1.0, 1.0))
    torch.testing.assert_close(whole, batch, atol=1e-5, rtol=0)
    out = random_resized_crop(batch, 0.1, gen())
    assert out.shape == batch.shape and len({round(o.sum().item(), 3) for o in out}) > 10


def test_crop_padding_is_zero_or_the_mean_colour():
    x = torch.ones(1, 3, 6, 6)
    mean = torch.tensor([0.2, 0.5, 0.7]).view(1, 3, 1, 1)
    corner = (torch.tensor([0]), torch.tensor([0]))  # the window at the top-left: 2 rows of padding
    zero = crop_at(x, 2, *corner)
    filled = crop_at(x, 2, *corner, fill=mean)
    assert torch.equal(zero[0, :, :2, :], torch.zeros(3, 2, 6))
    assert torch.equal(filled[0, :, :2, :], mean[0].expand(3, 2, 6))
    assert torch.equal(filled[0, :, 2:, 2:], x[0, :, :4, :4])


@pytest.mark.parametrize("p, low, high", [(0.0, 0, 0), (1.0, 200, 200), (0.5, 70, 130)])
def test_cutout_happens_with_its_probability(p, low, high):
    x = torch.ones(200, 1, 12, 12)
    out = cutout(x, 4, gen(3), fill=0.0, p=p)
    cut = int(((out == 0).flatten(1).any(1)).sum())
    assert low <= cut <= high


def test_a_loader_over_split_rows_of_a_memory_map_yields_the_copied_splits_batches(tmp_path):
    import numpy as np

    data = synthetic_set(n_per_class=12, classes=3, size=8)
    np.save(tmp_path / "images.npy", data.images.numpy())
    mapped = torch.from_numpy(np.load(tmp_path / "images.npy", mmap_mode="c"))
    rows = torch.tensor([3, 30, 7, 1, 22, 35, 14, 9, 18])
    norm = Normalizer([0.2, 0.3, 0.4], [0.5, 0.5, 0.5])
    lazy = BatchLoader(mapped, data.labels, 4, norm, indices=rows, shuffle=True, augment=AUG, seed=3)
    copied = BatchLoader(data.images[rows], data.labels[rows], 4, norm, shuffle=True, augment=AUG, seed=3)
    for (a, ya), (b, yb) in zip(lazy, copied, strict=True):
        assert torch.equal(a, b) and torch.equal(ya, yb)


def distinct_images(n: int, size: int = 6) -> torch.Tensor:
    """n uint8 images that differ from their own mirror image and from each other."""
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 1, size, size), generator=g, dtype=torch.uint8)


def flipped_in(batches, images: torch.Tensor) -> dict[int, bool]:
    """For each image (by index), whether the epoch's batches showed it mirrored."""
    seen = {}
    for x, y in batches:
        for img, label in zip(x, y, strict=True):
            i = int(label)  # labels are the image indices
            plain = images[i].float() / 255
            assert torch.equal(img, plain) or torch.equal(img, plain.flip(-1))
            seen[i] = torch.equal(img, plain.flip(-1))
    return seen


def test_alternating_flips_mirror_each_image_in_every_other_epoch():
    n = 40
    images = distinct_images(n)
    loader = BatchLoader(images, torch.arange(n), 8, Normalizer([0.0], [1.0]), shuffle=True,
                         augment=AugmentParams(hflip="alternate"), seed=3)
    epochs = [flipped_in(loader, images) for _ in range(4)]
    assert all(len(e) == n for e in epochs)  # every image once an epoch (40 = 5 full batches)
    first = [epochs[0][i] for i in range(n)]
    assert 10 <= sum(first) <= 30  # drawn at random, about half
    for e, epoch in enumerate(epochs):
        assert [epoch[i] for i in range(n)] == [f ^ (e % 2 == 1) for f in first]
    # random flips (hflip: true) are drawn afresh: some image keeps its flip two epochs running
    random = BatchLoader(images, torch.arange(n), 8, Normalizer([0.0], [1.0]), shuffle=True,
                         augment=AugmentParams(hflip=True), seed=3)
    a, b = flipped_in(random, images), flipped_in(random, images)
    assert any(a[i] == b[i] for i in range(n))


def test_reflect_padding_crops_as_torch_pads_in_reflect_mode():
    from cnnlab.data.augment import crop_at

    x = torch.rand(5, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    top, left = torch.tensor([0, 1, 2, 3, 4]), torch.tensor([4, 3, 2, 1, 0])
    out = crop_at(x, 2, top, left, "reflect")
    for i in range(5):
        # reflect: the pixel two to the left of column 0 is column 2, as numpy's "reflect"
        padded = torch.from_numpy(np.pad(x[i].numpy(), ((0, 0), (2, 2), (2, 2)), mode="reflect"))
        torch.testing.assert_close(out[i], padded[:, top[i]:top[i] + 6, left[i]:left[i] + 6], rtol=0, atol=0)
