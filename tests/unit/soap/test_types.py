"""skp's complex types are made as spyne's own constructor makes them (skp.soap.types)."""

from __future__ import annotations

import pytest
from spyne import ComplexModel

from skp.domain.roles import Module
from skp.soap.service import build_application
from skp.soap.types import _made


@pytest.mark.parametrize("module", list(Module))
def test_every_complex_type_is_made_as_spyne_makes_it(module):
    classes = {cls.__orig__ or cls for cls in build_application(module).interface.classes.values()
               if isinstance(cls, type) and getattr(cls, "__init__", None) is _made}
    assert len(classes) > 20
    for cls in classes:
        keys = list(cls.get_flat_type_info(cls))
        for values in ({}, {key: f"value of {key}" for key in keys[::2]} | {"nothing": 1}):
            ours = cls(**values)
            spynes = cls.__new__(cls)
            ComplexModel.__init__(spynes, **values)
            assert ours.__dict__ == spynes.__dict__, cls
            assert set(ours.__dict__) == set(keys)
