// Package vocab is the vocabulary the command line, the live view, the probers and the writers
// share: the probe protocols, mtr's statistics fields (-o letters, titles, formats), how a responder
// is named and how a time is written. It sits
// apart so the views can name a protocol or a column without importing the probers or the
// report writers.
package vocab
