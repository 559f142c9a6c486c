"""The perspective model: face size against image row, robust to odd faces."""

from attendance.vision.perspective import SMALLEST_FACE, Perspective


def _face(y: float, size: float, x: int = 100):
    half = size / 2
    return (round(y - half), round(x + half), round(y + half), round(x - half))


def test_fits_a_line_through_rows_of_faces():
    faces = [_face(y, 0.05 * y + 2, x) for y in (300, 450, 600, 800, 1000) for x in (100, 500)]
    model = Perspective.fit(faces)
    assert model is not None
    assert abs(model.size_at(700) - 37) <= 1.5
    assert model.top < 310 and model.bottom > 990
    assert Perspective.from_json(model.to_json()) == model


def test_outliers_do_not_bend_it():
    faces = [_face(y, 0.05 * y + 2) for y in (300, 400, 500, 600, 700, 800, 900)]
    faces.append(_face(350, 80))  # someone standing close to the camera
    model = Perspective.fit(faces)
    assert abs(model.size_at(350) - 19.5) <= 1.5
    assert model.faces == 7


def test_no_model_from_too_few_faces_or_one_row():
    assert Perspective.fit([_face(500, 30)] * 4) is None
    assert Perspective.fit([_face(500, 30, x) for x in range(0, 1000, 100)]) is None


def test_sizes_have_a_floor():
    model = Perspective(intercept=-50, slope=0.1, top=600, bottom=1000, faces=8)
    assert model.size_at(0) == SMALLEST_FACE
