"""Helper 88: a priced layer is priced however it is called.  extract() read a layer's input
from its first positional argument only, so a Linear called as ``lin(input=x)`` and an
nn.LSTM run on a PackedSequence (not a tensor) were left out of the price without a word:
the model was cheaper than it is."""
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from hwsim import extract


class _Keyword(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 2)

    def forward(self, x):
        return self.b(self.a(input=x))


class _Packed(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.head = nn.LSTM(4, 16, batch_first=True), nn.Linear(4, 2)

    def forward(self, x):
        packed = pack_padded_sequence(x, [x.shape[1]] * x.shape[0], batch_first=True)
        self.rnn(packed)
        return self.head(x[:, -1])


def test_a_layer_called_by_keyword_is_priced():
    ops = extract(_Keyword(), (8,), batch=2)
    assert [(o.name, o.macs) for o in ops] == [("a", 2 * 8 * 8), ("b", 2 * 8 * 2)]


def test_an_lstm_on_a_packed_sequence_is_priced_not_free():
    """Refused since h88 ('LSTM on a PackedSequence'), priced since h320
    (``hwsim.recurrent.packed_rnn_ops``): 2 sequences of 10 steps, 4 x 16 x (4 + 16) MACs a
    step."""
    ops = extract(_Packed(), (10, 4), batch=2)
    assert [o.macs for o in ops if o.name in ("rnn", "head")] == [20 * 4 * 16 * 20, 2 * 4 * 2]
