package localapi

import "context"

// ctxT shortens the method-expression signatures the handler table uses.
type ctxT = context.Context
