#pragma once
// The standard normal distribution, shared by every analytics family.
namespace nfl::analytics {

double normal_cdf(double x);
// Inverse CDF, accurate to double round-off (Acklam's approximation refined by Halley
// steps); -inf at 0, +inf at 1; InputError outside [0, 1].
double normal_quantile(double p);

} // namespace nfl::analytics
