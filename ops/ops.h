// ops/ops.h — everything a model author needs: Variables and every op family.
#pragma once
#include "autograd/variable.h"
#include "ops/activation.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/reduce.h"
#include "ops/shape.h"
