#pragma once
// The PromQL syntax tree. One node type with a kind tag keeps the evaluator a single switch;
// nodes are immutable once parsed and shared through ExprPtr, so one parsed expression may be
// evaluated from several threads at once.

#include <memory>
#include <string>
#include <vector>

#include "agent/rules/promql/value.h"

namespace vigil::promql {

enum class ExprKind {
  kNumber,          ///< number literal: number
  kString,          ///< string literal: str
  kVectorSelector,  ///< metric{matchers} offset: matchers, offsetMs
  kMatrixSelector,  ///< sel[range]: args[0] = vector selector, rangeMs
  kParen,           ///< ( args[0] )
  kUnary,           ///< -args[0] or +args[0]: op
  kBinary,          ///< args[0] op args[1] with matching
  kCall,            ///< func(args...)
  kAggregate,       ///< op [param,] args.back() grouped by/without
};

/// Operators of unary, binary and aggregate nodes.
enum class Op {
  kAdd, kSub, kMul, kDiv, kMod, kPow,
  kEql, kNeq, kGtr, kLss, kGte, kLte,
  kAnd, kOr, kUnless,
  kSum, kAvg, kMin, kMax, kCount, kTopk, kBottomk, kQuantile, kGroup, kStddev, kStdvar,
};

/// The PromQL spelling of an operator ("+", "==", "and", "sum", ...).
const char* toString(Op op);
bool isComparison(Op op);
bool isSetOperator(Op op);

/// The static type of an expression, as Prometheus' parser checks it.
enum class ValueType { kScalar, kVector, kMatrix, kString };
const char* toString(ValueType t);

enum class Cardinality { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

/// Vector matching of a binary operation between two vectors.
struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  bool on = false;                    ///< on(...) rather than ignoring(...)
  std::vector<std::string> labels;    ///< the on/ignoring labels
  std::vector<std::string> include;   ///< group_left/group_right extra labels
};

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  ExprKind kind = ExprKind::kNumber;
  int pos = 0;  ///< byte offset of the node's first character in the expression text
  double number = 0;
  std::string str;                ///< string literal value, metric name, or function name
  std::vector<Matcher> matchers;  ///< vector selector matchers (__name__ included)
  int64_t offsetMs = 0;
  int64_t rangeMs = 0;
  Op op = Op::kAdd;
  bool returnBool = false;
  VectorMatching matching;        ///< binary vector operations
  std::vector<std::string> grouping;  ///< aggregation by/without labels
  bool without = false;
  std::vector<ExprPtr> args;      ///< children; aggregations: [param,] expr
  ValueType type = ValueType::kScalar;
};

/// Re-renders an expression in PromQL syntax (used for rule listings and alert queries).
std::string toString(const Expr& e);

}  // namespace vigil::promql
