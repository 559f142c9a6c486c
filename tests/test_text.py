import unicodedata

from attendance.text import fold, nfc


def test_nfc_composes_decomposed_vietnamese():
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hằng")
    assert decomposed != "Nguyễn Thị Hằng"
    assert nfc(decomposed) == "Nguyễn Thị Hằng"


def test_fold_ignores_case_diacritics_and_punctuation():
    assert fold("Mã điểm cầu") == fold("MA DIEM CAU") == fold("ma_diem_cau") == "ma diem cau"
    assert fold("Tỉnh/Thành phố") == "tinh thanh pho"
    assert fold("Đồng ý") == "dong y"
    assert fold(unicodedata.normalize("NFD", "Họ và tên")) == "ho va ten"
