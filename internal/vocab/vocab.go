// Package vocab is the vocabulary the command line, the live view, the probers and the writers
// share: the probe protocols and mtr's statistics fields (-o letters, titles, formats). It sits
// apart so the views can name a protocol or a column without importing the probers or the
// report writers.
package vocab
