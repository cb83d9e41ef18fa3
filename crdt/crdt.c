/* placeholder: the CRDT core lands here. */
#include "crdt.h"
