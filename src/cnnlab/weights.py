"""Reading a weights file that may come from anywhere: tensors only, never code.

torch.load with weights_only=True unpickles nothing but tensors and plain containers;
a file that needs more (a pickled model object, or a crafted pickle that would run a
command) is refused with a message saying what to save instead.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch

from cnnlab.errors import UserError


def load_state_dict(path: str | Path, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """The state dict in path, or one UserError naming the file and the remedy."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch names what the pickle would import ("unsupported GLOBAL posix.system ...").
        needs = re.search(r"GLOBAL (\S+)", str(exc))
        if needs is None:  # not a pickle torch can read at all
            raise UserError(f"{path} is not a readable PyTorch weights file ({exc.__class__.__name__}). "
                            f"Fetch or save it again.") from None
        raise UserError(f"{path} holds Python objects that need code to load ({needs.group(1)}), not only "
                        f"tensors; cnnlab "
                        f"loads weights with weights_only=True and refuses it. If you trust its source, load it "
                        f"yourself and save model.state_dict() with torch.save.") from None
    except Exception as exc:  # noqa: BLE001 - any other unreadable file means the same remedy
        raise UserError(f"{path} is not a readable PyTorch weights file ({exc.__class__.__name__}). "
                        f"Fetch or save it again.") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path} holds a {type(state).__name__}, not a state dict of tensors; save "
                        f"model.state_dict() with torch.save.")
    return state
