package media

// DecodeCost exposes decodeCost to the external tests that look for the largest image
// the budget accepts.
var DecodeCost = decodeCost
