import pytest

from arca.cuit import compute_check_digit, format_cuit, is_valid_cuit, normalize_cuit


@pytest.mark.parametrize(
    "value",
    ["20111111112", "30000000007", "33693450239", "23000000000", "30-71234567-1", "20 11111111 2"],
)
def test_valid_cuits(value: str) -> None:
    assert is_valid_cuit(value)


@pytest.mark.parametrize(
    "value", ["20111111113", "2011111111", "201111111120", "2O111111112", "", "30-71234567-2"]
)
def test_invalid_cuits(value: str) -> None:
    assert not is_valid_cuit(value)


def test_a_check_digit_of_ten_means_no_valid_cuit() -> None:
    # 20-00000001-? gives 10 under prefix 20: ARCA issues it under 23 instead, never with a 9.
    ten_digits = next(
        f"20{n:08d}" for n in range(1, 10**8) if compute_check_digit(f"20{n:08d}") is None
    )
    assert not any(is_valid_cuit(ten_digits + str(digit)) for digit in range(10))
    rebased = "23" + ten_digits[2:]
    assert compute_check_digit(rebased) is not None


def test_normalize_and_format() -> None:
    assert normalize_cuit(" 30-71234567-1 ") == "30712345671"
    assert format_cuit("30712345671") == "30-71234567-1"
    assert format_cuit("123") == "123"
