"""Decoding real encoded files, and turning them into views.

Every test video is encoded here with PyAV (tests/videos.py) and carries its frame number in its pixels,
so the tests assert which exact frame each sampling kind got, through every container and codec.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from videos import damage, make_audio_only, make_video, read_frame_number, read_frame_numbers, solid, truncate

from linvit_cli.errors import UsageError, VideoDecodeError
from linvit_cli.registry.schema import Protocol
from linvit_cli.video.decode import Video, probe, read_frames
from linvit_cli.video.sampling import sample_clips
from linvit_cli.video.transforms import crop_offsets, normalize, resize_frame, resized_shape, spatial_crops
from linvit_cli.video.views import load_views

VFR_PTS = [0.0, 0.04, 0.08, 0.3, 0.35, 0.6, 0.62, 0.9, 1.0, 1.2, 1.5, 1.55]


def ramp(axis: int) -> Callable[[int, int, int], np.ndarray]:
    """Frames whose grey level rises along one axis (1: left to right, 0: top to bottom)."""
    def draw(number: int, width: int, height: int) -> np.ndarray:
        length = (height, width)[axis]
        values = np.linspace(0, 255, length).round().astype(np.uint8)
        line = values[None, :] if axis == 1 else values[:, None]
        return np.repeat(np.broadcast_to(line, (height, width))[..., None], 3, axis=2).copy()
    return draw


SPECS: dict[str, dict] = {
    "h264.mp4": dict(frames=60, gop=10),
    "vp9.webm": dict(codec="libvpx-vp9", frames=60, gop=10),
    "vp8.webm": dict(codec="libvpx", frames=60, gop=10),
    "h264.mkv": dict(frames=60, gop=10),
    "vfr.mp4": dict(frames=len(VFR_PTS), pts=VFR_PTS),
    "vfr.mkv": dict(frames=len(VFR_PTS), pts=VFR_PTS),
    "portrait.mp4": dict(size=(48, 64), rotation=-90),
    "upside-down.mkv": dict(rotation=180),
    "nine-frames.mp4": dict(frames=9),
    "one-second.webm": dict(codec="libvpx-vp9", frames=30),
    "odd.webm": dict(codec="libvpx-vp9", size=(321, 241), frames=20),
    "odd-444.mp4": dict(size=(321, 241), pix_fmt="yuv444p", frames=20),
    "tiny.mp4": dict(size=(16, 16)),
    "10bit.mp4": dict(pix_fmt="yuv420p10le"),
    "444.mp4": dict(pix_fmt="yuv444p"),
    "25fps.mp4": dict(fps=25, frames=75),
    "12fps.webm": dict(codec="libvpx-vp9", fps=12, frames=48),
    "long.mp4": dict(frames=600, gop=30),
    "bframes.mp4": dict(frames=300, gop=30, options={"bf": "3"}),
    "bframes.ts": dict(frames=300, gop=30, options={"bf": "3"}),  # MPEG-TS seeks land roughly
    "with-audio.mp4": dict(audio=True),
    "raw.h264": dict(frames=90),
    "square.mp4": dict(size=(48, 48)),
    "ramp-landscape.mp4": dict(size=(96, 64), frames=4, draw=ramp(1), pix_fmt="yuv444p"),
    "ramp-portrait.mp4": dict(size=(64, 96), frames=4, draw=ramp(0), pix_fmt="yuv444p"),
    "grey.mp4": dict(frames=4, draw=solid(128), pix_fmt="yuv444p"),
    "for-truncation.webm": dict(codec="libvpx-vp9", frames=60),
    "for-truncation.mp4": dict(frames=60),
}


class Library:
    """Test videos, each encoded on first use and kept for the session."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __getitem__(self, name: str) -> Path:
        path = self.root / name
        if not path.exists():
            make_video(path, **SPECS[name])
        return path


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return Library(tmp_path_factory.mktemp("videos"))


def protocol(sampling: str, views: tuple[int, int], size: int = 32, **extra: object) -> Protocol:
    """A test protocol; small views keep the tensors cheap."""
    fields: dict = dict(frames=16, sampling=sampling, views=views, short_side=size, crop=size,
                        mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), combine="softmax_mean")
    if sampling == "dense":
        fields.update(stride=16, fps=30.0)
    return Protocol(**{**fields, **extra})


KINDS = [protocol("dense", (4, 3)), protocol("segment", (2, 3)), protocol("tsn", (2, 3)),
         protocol("uniform", (4, 3))]


# --- probe


@pytest.mark.parametrize(("name", "frames", "source", "size", "fps"), [
    ("h264.mp4", 60, "stream", (64, 48), 30),
    ("vp9.webm", 60, "container duration", (64, 48), 30),  # WebM states no frame count
    ("vp8.webm", 60, "container duration", (64, 48), 30),
    ("h264.mkv", 60, "container duration", (64, 48), 30),
    ("raw.h264", 90, "packets", (64, 48), 25),  # no duration at all; the raw demuxer assumes 25 fps
    ("portrait.mp4", 30, "stream", (48, 64), 30),
    ("odd.webm", 20, "container duration", (321, 241), 30),
    ("tiny.mp4", 30, "stream", (16, 16), 30),
    ("25fps.mp4", 75, "stream", (64, 48), 25),
])
def test_probe(videos: Library, name: str, frames: int, source: str, size: tuple[int, int], fps: float) -> None:
    info = probe(videos[name])
    assert (info.num_frames, info.frames_from, (info.width, info.height)) == (frames, source, size)
    assert info.fps == pytest.approx(fps)
    assert info.duration == pytest.approx(frames / fps, abs=0.05)
    assert info.start_time == 0.0


def test_probe_formats_and_rotation(videos: Library) -> None:
    assert probe(videos["10bit.mp4"]).pix_fmt == "yuv420p10le"
    assert probe(videos["444.mp4"]).pix_fmt == "yuv444p"
    assert probe(videos["vp8.webm"]).codec == "vp8"
    assert probe(videos["portrait.mp4"]).rotation == -90
    assert probe(videos["upside-down.mkv"]).rotation in (180, -180)
    assert probe(videos["vfr.mp4"]).is_vfr
    assert not probe(videos["h264.mp4"]).is_vfr


# --- exact frames


@pytest.mark.parametrize("name", ["h264.mp4", "vp9.webm", "vp8.webm", "h264.mkv", "portrait.mp4",
                                  "upside-down.mkv", "odd.webm", "odd-444.mp4", "tiny.mp4", "10bit.mp4",
                                  "444.mp4", "with-audio.mp4", "long.mp4", "bframes.mp4", "bframes.ts",
                                  "raw.h264",
                                  "25fps.mp4", "12fps.webm", "nine-frames.mp4"])
def test_every_sampling_kind_gets_its_exact_frames(videos: Library, name: str) -> None:
    info = probe(videos[name])
    for kind in KINDS:
        clips = sample_clips(kind, info.num_frames, info.fps)
        wanted = [i for clip in clips.indices for i in clip]
        frames, decoded = read_frames(videos[name], [t for clip in clips.times for t in clip])
        assert frames.shape[1:] == (info.height, info.width, 3)
        assert read_frame_numbers(frames) == wanted, kind.sampling
        assert decoded.past_end == 0


def test_frames_are_found_by_time_in_variable_frame_rate_files(videos: Library) -> None:
    for name in ("vfr.mp4", "vfr.mkv"):
        wanted = [0.0, 0.2, 0.31, 0.5, 0.605, 1.12, 1.52, 2.0]
        frames, decoded = read_frames(videos[name], wanted)
        # Nearest frame: 0.2 -> 0.3 (frame 3), 0.5 -> 0.6, 1.12 -> 1.2, 2.0 is past the end (1.55).
        assert read_frame_numbers(frames) == [0, 3, 3, 5, 5, 9, 10, 11]
        assert decoded.times == pytest.approx([0.0, 0.3, 0.3, 0.6, 0.6, 1.2, 1.5, 1.55])
        assert decoded.past_end == 1 and decoded.stream_end == pytest.approx(1.55)


def test_ties_go_to_the_earlier_frame(videos: Library) -> None:
    frames, decoded = read_frames(videos["h264.mp4"], [1.5 / 30, 2.5 / 30])
    assert read_frame_numbers(frames) == [1, 2]


def test_rotation_metadata_makes_portrait_frames_upright(videos: Library) -> None:
    with av.open(str(videos["portrait.mp4"])) as container:
        stored = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert stored.shape == (48, 64, 3)  # landscape on disk
    with pytest.raises(ValueError, match="not upright"):
        read_frame_number(stored)
    frames, _ = read_frames(videos["portrait.mp4"], [0.0, 0.5])
    assert frames.shape == (2, 64, 48, 3)
    assert read_frame_numbers(frames) == [0, 15]


def test_sparse_read_of_a_long_video_seeks_instead_of_decoding_everything(videos: Library) -> None:
    for name in ("long.mp4", "bframes.mp4"):
        with Video(videos[name]) as video:
            count = video.info.num_frames
            wanted = [round(i * (count - 1) / 7) for i in range(8)]
            decoded = video.read([i / video.info.fps for i in wanted])
            assert read_frame_numbers(decoded.frames) == wanted
            assert decoded.decoded < count // 2
            # A second read may go back in time.
            again = video.read([wanted[2] / video.info.fps, 0.0])
            assert read_frame_numbers(again.frames) == [wanted[2], 0]


@pytest.mark.parametrize("name", ["bframes.ts", "bframes.mp4", "h264.mkv", "vp9.webm", "raw.h264"])
def test_reads_forward_then_backward_through_rough_seeks(videos: Library, name: str) -> None:
    with Video(videos[name]) as video:
        count = video.info.num_frames
        wanted = [round(i * (count - 1) / 8) for i in range(9)]
        for order in (wanted, wanted[::-1]):
            decoded = video.read([i / video.info.fps for i in order])
            assert read_frame_numbers(decoded.frames) == order


def test_everything_read_sequentially_when_all_frames_are_wanted(videos: Library) -> None:
    with Video(videos["long.mp4"]) as video:
        decoded = video.read([i / 30 for i in range(600)], convert=read_frame_number)
    assert decoded.frames == list(range(600))
    assert decoded.decoded == 599  # every frame once (the first came with opening)


def test_unseekable_raw_stream_is_read_straight_through(videos: Library) -> None:
    frames, decoded = read_frames(videos["raw.h264"], [0.0, 3.4])  # a gap long enough to try a seek
    assert read_frame_numbers(frames) == [0, 85]


def test_truncated_webm_reports_how_far_it_got(videos: Library, tmp_path: Path) -> None:
    path = truncate(videos["for-truncation.webm"], tmp_path / "cut.webm", keep=0.5)
    with Video(path) as video:
        assert video.info.num_frames == 60  # the header still says 2 s
        decoded = video.read([i / 30 for i in range(60)], convert=read_frame_number)
    found = decoded.frames_found(30.0)
    assert decoded.stream_end is not None and 0 < found < 60
    assert decoded.frames[:found] == list(range(found))
    assert decoded.past_end >= 60 - found - 1
    loaded = load_views(path, protocol("uniform", (1, 1)))
    assert any("decoding stopped at" in w and "the file is cut short" in w for w in loaded.warnings)
    assert not loaded.complete


def test_a_damaged_packet_costs_one_frame_and_a_warning_not_the_file(videos: Library, tmp_path: Path) -> None:
    source = make_video(tmp_path / "250.mp4", frames=250, gop=30)
    path = damage(source, tmp_path / "one-bad.mp4", [122])
    with Video(path) as video:
        decoded = video.read([i / 30 for i in range(250)], convert=read_frame_number)
    assert decoded.packets > 240 and len(decoded.lost) == 1 and 4.0 < decoded.lost[0] < 4.3  # (opening read some)
    assert 122 not in decoded.frames  # its neighbours stand in
    assert decoded.frames[:122] == list(range(122)) and decoded.frames[130:] == list(range(130, 250))
    warnings = load_views(path, KINDS[3]).warnings
    assert warnings == ["1 frame(s) lost: the decoder rejected 1 damaged packet(s) (near 4.13 s); the nearest "
                        "frames that decoded stand in"]


def test_a_file_with_more_than_a_tenth_of_its_packets_damaged_is_rejected(tmp_path: Path) -> None:
    source = make_video(tmp_path / "250.mp4", frames=250, gop=30)
    path = damage(source, tmp_path / "many-bad.mp4", [k for k in range(250) if k % 30 and k % 5 == 0])
    with pytest.raises(VideoDecodeError, match=r"rejected 41 of the \d+ packets read as damaged \(more than 10%\)"):
        load_views(path, KINDS[3])


# --- errors


def bad_inputs(root: Path, videos: Library) -> dict[str, tuple[Path, str]]:
    (root / "empty.mp4").write_bytes(b"")
    (root / "notes.mp4").write_text("this is a text file, not a video\n" * 20)
    (root / "noise.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    (root / "folder.mp4").mkdir()
    return {
        "missing": (root / "missing.mp4", "does not exist"),
        "directory": (root / "folder.mp4", "is a directory"),
        "empty": (root / "empty.mp4", "empty (0 bytes)"),
        "text": (root / "notes.mp4", "invalid data"),
        "noise": (root / "noise.mp4", "invalid data"),
        "truncated mp4": (truncate(videos["for-truncation.mp4"], root / "cut.mp4"), "moov"),
        "audio only": (make_audio_only(root / "song.m4a"), "no video stream (streams found: audio)"),
    }


def test_unreadable_files_raise_one_clear_line(videos: Library, tmp_path: Path) -> None:
    for label, (path, reason) in bad_inputs(tmp_path, videos).items():
        for read in (probe, functools.partial(load_views, protocol=KINDS[0])):
            with pytest.raises(VideoDecodeError) as caught:
                read(path)
            message = str(caught.value)
            assert reason in message and path.name in message and "\n" not in message, label
            assert caught.value.exit_code == 1


# --- transforms


def test_resized_shape_of_each_recipe() -> None:
    assert resized_shape(256, 340, 224, "float") == (224, 297)  # floor(340 / 256 * 224) = floor(297.5)
    assert resized_shape(256, 340, 224, "uint8") == (224, 297)  # int(224 * 340 / 256)
    assert resized_shape(340, 256, 224, "float") == (297, 224)  # portrait
    assert resized_shape(1080, 1920, 224, "uint8") == (224, 398)
    assert resized_shape(224, 400, 224, "float") == (224, 400)  # already there: untouched
    assert resized_shape(48, 48, 224, "float") == (224, 224)


def test_crop_offsets_round_like_each_authors_code() -> None:
    assert crop_offsets(298, 224, 3, "float") == [0, 37, 74]
    assert crop_offsets(297, 224, 3, "float") == [0, 37, 73]  # ceil(36.5): SlowFast uniform_crop
    assert crop_offsets(297, 224, 3, "uint8") == [0, 36, 73]  # int(36.5): VideoMAE test crops
    assert crop_offsets(297, 224, 1, "float") == [37]
    assert crop_offsets(300, 224, 2, "uint8") == [0, 76]
    with pytest.raises(ValueError, match="does not fit"):
        crop_offsets(200, 224, 3, "float")
    with pytest.raises(UsageError, match="at least 1"):
        crop_offsets(300, 224, 0, "uint8")


def test_spatial_crops_take_left_centre_right_or_top_centre_bottom() -> None:
    landscape = torch.arange(10.0).expand(3, 2, 4, 10)  # value = column
    assert [c[0, 0, 0, 0].item() for c in spatial_crops(landscape, 4, 3, "float")] == [0, 3, 6]
    portrait = torch.arange(10.0)[:, None].expand(3, 2, 10, 4)  # value = row
    crops = spatial_crops(portrait, 4, 3, "uint8")
    assert [c[0, 0, 0, 0].item() for c in crops] == [0, 3, 6]
    assert all(c.shape == (3, 2, 4, 4) for c in crops)


def test_normalize() -> None:
    pixels = torch.tensor([0.0, 255.0, 127.5]).expand(3, 3).clone()
    assert normalize(pixels, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))[0].tolist() == [-1.0, 1.0, 0.0]
    imagenet = normalize(torch.full((3, 1), 128.0), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    expected = [(128 / 255 - m) / s for m, s in zip((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), strict=True)]
    assert imagenet[:, 0].tolist() == pytest.approx(expected, abs=1e-6)


def test_float_recipe_equals_the_authors_normalise_then_resize_order() -> None:
    frames = torch.randint(0, 256, (4, 37, 53, 3), dtype=torch.uint8)  # T H W C
    # LViT: uint8 / 255, minus mean, over std, C T H W, then interpolate over (C, T) as batch and channels.
    authors = ((frames.float() / 255.0 - 0.5) / 0.5).permute(3, 0, 1, 2)
    authors = F.interpolate(authors, size=resized_shape(37, 53, 224, "float"), mode="bilinear",
                            align_corners=False)
    ours = torch.stack([normalize(resize_frame(f.numpy(), 224, "float"), (0.5,) * 3, (0.5,) * 3)
                        for f in frames], dim=1)
    assert torch.allclose(ours, authors, atol=1e-5)


def test_uint8_recipe_rounds_like_opencv_on_uint8() -> None:
    image = np.random.default_rng(1).integers(0, 256, (37, 53, 3), np.uint8)
    resized = resize_frame(image, 224, "uint8")
    assert torch.equal(resized, resized.round()) and resized.shape == (3, 224, 320)
    exact = resize_frame(image, 224, "float")
    assert (resized - exact).abs().max() <= 1.0


# --- views


def test_views_shape_and_order(videos: Library) -> None:
    # A square video, upscaled to the crop size, so every crop is the whole frame and shows its number.
    kind = protocol("uniform", (4, 3), size=48)
    result = load_views(videos["square.mp4"], kind)
    assert result.views.shape == (12, 3, 16, 48, 48) and result.views.dtype == torch.float32
    clips = sample_clips(kind, 30, 30.0)
    mean = torch.tensor(kind.mean).view(3, 1, 1, 1)
    std = torch.tensor(kind.std).view(3, 1, 1, 1)
    pixels = ((result.views * std + mean) * 255).round().clamp(0, 255).byte()
    for v in range(12):
        frames = pixels[v].permute(1, 2, 3, 0).numpy()  # T H W C
        assert read_frame_numbers(frames) == list(clips.indices[v // 3]), v
    assert result.times == tuple(tuple(i / 30 for i in clip) for clip in clips.indices)
    assert result.warnings == []


@pytest.mark.parametrize(("views", "count"), [((1, 1), 1), ((2, 2), 4), ((3, 1), 3)])
def test_views_override(videos: Library, views: tuple[int, int], count: int) -> None:
    result = load_views(videos["h264.mp4"], protocol("dense", (4, 3)), views=views)
    assert result.views.shape == (count, 3, 16, 32, 32)


def test_lvit_kinetics_protocol_end_to_end(videos: Library) -> None:
    lvit = Protocol(frames=16, sampling="dense", views=(4, 3), short_side=224, crop=224, mean=(0.5,) * 3,
                    std=(0.5,) * 3, combine="logit_sum", stride=16, fps=30.0)
    result = load_views(videos["one-second.webm"], lvit)
    assert result.views.shape == (12, 3, 16, 224, 224)
    assert result.info.num_frames == 30
    assert result.warnings == ["video has 30 frames (1.00 s), shorter than the 256-frame window at 30 fps "
                               "(8.53 s): frames repeated"]
    assert result.views.min() >= -1.0 and result.views.max() <= 1.0


def test_short_video_warning(videos: Library) -> None:
    result = load_views(videos["nine-frames.mp4"], protocol("segment", (2, 3)))
    assert result.warnings == ["video has 9 frames, fewer than the 16 sampled: frames repeated"]


@pytest.mark.parametrize(("name", "axis"), [("ramp-landscape.mp4", 1), ("ramp-portrait.mp4", 0)])
def test_crops_take_their_part_of_the_frame(videos: Library, name: str, axis: int) -> None:
    # 96 x 64 ramp, short side kept at 64, crops of 64 at offsets 0, 16, 32 along the long side.
    kind = protocol("segment", (1, 3), size=64, mean=(0.0,) * 3, std=(1.0,) * 3)
    views = load_views(videos[name], kind).views * 255
    ramp_values = np.linspace(0, 255, 96)
    for view, offset in zip(views, (0, 16, 32), strict=True):
        profile = view[:, 0].mean(dim=(0, 2 - axis))  # mean over channels and across the ramp
        assert profile.numpy() == pytest.approx(ramp_values[offset : offset + 64], abs=3)


def test_normalised_values_of_a_grey_video(videos: Library) -> None:
    kind = protocol("tsn", (1, 1))
    views = load_views(videos["grey.mp4"], kind).views
    for channel, (m, s) in enumerate(zip(kind.mean, kind.std, strict=True)):
        assert views[0, channel].mean().item() == pytest.approx((128 / 255 - m) / s, abs=2 / 255 / s)


def views_only(path: str, load: Callable[[str], object]) -> torch.Tensor:
    return load(path).views


def test_load_views_works_in_dataloader_workers(videos: Library) -> None:
    load = functools.partial(load_views, protocol=protocol("tsn", (1, 1)), threads=1)
    assert pickle.loads(pickle.dumps(load)).keywords == load.keywords
    paths = [str(videos["h264.mp4"]), str(videos["vp9.webm"])]
    loader = torch.utils.data.DataLoader(paths, batch_size=None, num_workers=1,
                                         collate_fn=functools.partial(views_only, load=load))
    assert [tuple(views.shape) for views in loader] == [(1, 3, 16, 32, 32)] * 2


@pytest.mark.parametrize(("shape", "size"), [((720, 1280), (32, 56)), ((37, 53), (224, 320)), ((241, 321), (224, 298)),
                                             ((1080, 1920), (224, 398)), ((100, 7), (300, 21)), ((16, 16), (32, 32))])
def test_float_recipe_reads_only_sampled_pixels_yet_equals_interpolating_the_whole_frame(shape, size) -> None:
    image = np.random.default_rng(2).integers(0, 256, (*shape, 3), np.uint8)
    whole = F.interpolate(torch.from_numpy(image).permute(2, 0, 1)[None].float(), size=size, mode="bilinear",
                          align_corners=False, antialias=False)[0]
    short = min(size)
    resized = resize_frame(image, short, "float")
    assert resized.shape == whole.shape and resized.is_contiguous()
    assert (resized - whole).abs().max() <= 4e-5  # float rounding at 255, one unit in the last place
